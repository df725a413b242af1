// The queue of waiters on the shared server: FIFO order, the watches on the predecessor and the
// node ahead of it, a handover by the deletion alone, and no herd.
import { waitFor } from "@zk-dist-lock/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { isLockError, type ZkLock } from "../src/index.js";
import { onBinding } from "./support/kind.js";
import {
  closeClients,
  countListings,
  eventsNamed,
  hostAndPort,
  startManager,
  type TestManager,
  uniqueRoot,
  watchedBy,
  watchesByPath,
} from "./support/zk.js";

const connect = inject("zkConnect");
const resource = "queue";

describe("the waiting queue", () => {
  const managers: TestManager[] = [];

  afterEach(async () => {
    await Promise.allSettled(managers.map(({ manager }) => manager.close()));
    managers.length = 0;
    closeClients();
  });

  /** A holder and `count` waiters, each on its own session, queued one at a time in index order. */
  async function queue(rootDir: string, count: number) {
    const started = await Promise.all(
      Array.from({ length: count + 1 }, () => startManager(connect, { rootDir })),
    );
    managers.push(...started);
    const [holder, ...waiters] = started as [TestManager, ...TestManager[]];
    const holderLock = holder.manager.createLock(resource);
    await holderLock.acquire();
    const locks: ZkLock[] = [];
    const acquisitions: Promise<bigint>[] = [];
    for (const [i, waiter] of waiters.entries()) {
      const lock = waiter.manager.createLock(resource);
      locks.push(lock);
      acquisitions.push(lock.acquire());
      await waitFor(async () => (await holder.manager.inspect(resource)).waiters.length === i + 1, {
        message: `waiter ${i} in the queue`,
      });
    }
    const inspection = await holder.manager.inspect(resource);
    expect(inspection.holder?.sessionId).toBe(holder.client.sessionId);
    expect(inspection.waiters.map((w) => w.sessionId)).toEqual(waiters.map((w) => w.client.sessionId));
    return { holder, holderLock, waiters, locks, acquisitions, inspection };
  }

  it("grants the lock in the order the waiters queued", async () => {
    const { holderLock, locks, acquisitions } = await queue(uniqueRoot("fifo"), 5);
    const order: number[] = [];
    const tokens: bigint[] = [];
    const done = acquisitions.map((acquisition, i) =>
      acquisition.then(async (token) => {
        order.push(i);
        tokens.push(token);
        await locks[i]!.release();
      }),
    );
    await holderLock.release();
    await Promise.all(done);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
  });

  it("hands over at the predecessor's deletion without listing again, each waiter deciding at its lookout's deletion while the node ahead of it holds", async () => {
    const rootDir = uniqueRoot("herd");
    const { host, port } = hostAndPort(connect);
    const { holderLock, waiters, locks, acquisitions, inspection } = await queue(rootDir, 4);
    const dir = inspection.path;
    const nodes = [inspection.holder!, ...inspection.waiters].map((p) => `${dir}/${p.node}`);
    // Count how often each waiter lists the children.
    const lists = waiters.map((waiter) => countListings(waiter.client));
    const sessions = waiters.map((w) => w.client.sessionId);

    // Once node `k` holds: the waiter just behind it (waiter k) watches it, and every later waiter
    // its predecessor and the node ahead of that (its lookout). Each waiter watches its own node
    // too, until its release fires the watch: node k's holder still does. No node is watched by
    // more than two waiters and its own.
    const expected = (k: number) =>
      sessions.map((_, i) => {
        if (i < k) return i === k - 1 ? [nodes[k]!] : [];
        return i === k ? [nodes[i]!, nodes[i + 1]!] : [nodes[i - 1]!, nodes[i]!, nodes[i + 1]!];
      });
    const watchesNow = async () => {
      const all = await watchesByPath(host, port);
      return sessions.map((s) => watchedBy(all, s).sort());
    };
    const holders = [holderLock, ...locks];
    for (let k = 0; k < waiters.length; k++) {
      const want = expected(k).map((paths) => [...paths].sort());
      await waitFor(async () => JSON.stringify(await watchesNow()) === JSON.stringify(want), {
        message: `the watches once node ${k} holds`,
      });
      const before = lists.map((l) => l.count);
      await holders[k]!.release();
      await acquisitions[k];
      // The waiter just behind holds by the deletion alone. The one two behind, woken by its
      // lookout, decides without a request when its listing showed the lookout first (waiter 1,
      // which entered third in line), else lists once: nodes it saw ahead have left since.
      const relisting = k >= 1 && k + 1 < waiters.length ? k + 1 : undefined;
      if (relisting !== undefined)
        await waitFor(() => lists[relisting]!.count === before[relisting]! + 1, {
          message: `waiter ${relisting}'s listing at its lookout's deletion`,
        });
      // ZooKeeper sends a session its watch events before the replies to later requests: once each
      // waiter has an answer about the deleted node, any wake-up by that deletion has happened.
      for (const waiter of waiters) expect(await waiter.client.exists(nodes[k]!)).toBe(false);
      expect(lists.map((l) => l.count)).toEqual(
        before.map((count, i) => (i === relisting ? count + 1 : count)),
      );
      expect(waiters.map((w) => eventsNamed(w.events, "acquired").length)).toEqual(
        waiters.map((_, i) => (i <= k ? 1 : 0)),
      );
    }
    await locks.at(-1)!.release();
    // No watch outlives its wait.
    const watchesAtEnd = await watchesByPath(host, port);
    for (const session of sessions) expect(watchedBy(watchesAtEnd, session)).toEqual([]);
  });

  /** Two managers on their own sessions: one holds the lock, the other is ready to wait for it. */
  async function heldAndWaiter(name: string) {
    const rootDir = uniqueRoot(name);
    const [holder, waiter] = [
      await startManager(connect, { rootDir }),
      await startManager(connect, { rootDir }),
    ];
    managers.push(holder, waiter);
    const holderLock = holder.manager.createLock(resource);
    await holderLock.acquire();
    return { holderLock, waiter };
  }

  it("sets no watch that outlives a predecessor gone before the watch was set", async () => {
    const { host, port } = hostAndPort(connect);
    const { holderLock, waiter } = await heldAndWaiter("gone-first");

    // Hold back the waiter's first listing (which shows the holder ahead) until the holder is gone,
    // so that the waiter goes on to watch a node that no longer exists.
    let heldBack = false;
    waiter.client.onCall("listed", () => {
      if (heldBack) return;
      heldBack = true;
      return holderLock.release();
    });
    const lock = waiter.manager.createLock(resource);
    const token = await lock.acquire({ timeout: 10_000 });
    expect(heldBack).toBe(true);
    expect(token).toBeGreaterThan(0n);
    const watchedByWaiter = async () =>
      [...(await watchesByPath(host, port))].filter(([, sessions]) =>
        sessions.includes(waiter.client.sessionId),
      );
    // Its own node's watch, until its release fires it.
    expect((await watchedByWaiter()).map(([path]) => path)).toEqual([lock.nodePath]);
    await lock.release();
    expect(await watchedByWaiter()).toEqual([]);
  });

  // @zk-dist-lock/client has removeWatches; the binding has not, so its watch stays until it fires.
  it.skipIf(onBinding)("removes the watch of a wait that was given up", async () => {
    const { host, port } = hostAndPort(connect);
    const { holderLock, waiter } = await heldAndWaiter("abandoned");
    const controller = new AbortController();
    const waiting = waiter.manager.createLock(resource).acquire({ signal: controller.signal });
    waiting.catch(() => {});
    const watchedByWaiter = async () =>
      [...(await watchesByPath(host, port))].filter(([, sessions]) =>
        sessions.includes(waiter.client.sessionId),
      );
    await waitFor(async () => (await watchedByWaiter()).length === 2, {
      message: "the waiter's watches on the holder and itself",
    });

    controller.abort(new Error("gave up"));
    expect(isLockError(await waiting.catch((e: unknown) => e), "ABORTED")).toBe(true);
    await waitFor(async () => (await watchedByWaiter()).length === 0, {
      message: "the abandoned wait's watch to be removed at the server",
    });
    expect(holderLock.state).toBe("held");
    await holderLock.release();
  });
});
