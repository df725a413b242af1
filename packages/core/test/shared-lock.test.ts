// Shared (read) and exclusive (write) holds of one lock, each contender on its own session: who
// holds together, the order of turns, the tokens, the watches, and re-entrancy in a call chain.
import { waitFor } from "@zk-dist-lock/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { isLockError } from "../src/index.js";
import {
  childrenOf,
  closeClients,
  countListings,
  expectAbandonedWaitsLeaveNothing,
  hostAndPort,
  queueUp,
  sessionOf,
  sessionsPerTest,
  startManagers,
  type TestManager,
  watchedBy,
  watchesByPath,
  watchesOf,
} from "./support/zk.js";

const connect = inject("zkConnect");
const resource = "catalog";

describe("shared and exclusive holds", () => {
  const sessions = sessionsPerTest(connect, "shared");

  it("lets readers hold together, and a writer only once they are all gone, with a greater token", async () => {
    const [r1, r2, r3, w] = await sessions(4);
    const readers = [r1!, r2!, r3!].map((m) => m.manager.createLock(resource, { mode: "shared" }));
    const readTokens: bigint[] = [];
    for (const lock of readers) readTokens.push(await lock.acquire());
    expect(readers.map((lock) => lock.state)).toEqual(["held", "held", "held"]);

    const writer = w!.manager.createLock(resource);
    expect(await writer.tryAcquire()).toBeUndefined();
    const { acquisition: writing } = await queueUp(w!, resource, writer, 3);
    const inspection = await w!.manager.inspect(resource);
    expect(inspection.holders.map((p) => [p.mode, p.sessionId])).toEqual(
      [r1!, r2!, r3!].map((m) => ["shared", sessionOf(m.client)]),
    );
    expect(inspection.holder).toEqual(inspection.holders[0]);
    expect(inspection.waiters.map((p) => [p.mode, p.sessionId])).toEqual([
      ["exclusive", sessionOf(w!.client)],
    ]);

    await readers[0]!.release();
    await readers[1]!.release();
    // The writer's turn has not come while one reader holds: its node is still queued behind it.
    expect((await w!.manager.inspect(resource)).waiters).toHaveLength(1);
    expect(writer.state).toBe("acquiring");
    await readers[2]!.release();
    const writeToken = await writing;
    for (const token of readTokens) expect(writeToken).toBeGreaterThan(token);
    await writer.release();
  });

  it("serves turns in arrival order: readers that come after a waiting writer wait for it", async () => {
    const [first, w, ...later] = await sessions(5);
    const reader = first!.manager.createLock(resource, { mode: "shared" });
    const firstToken = await reader.acquire();
    const writer = w!.manager.createLock(resource);
    const { acquisition: writing } = await queueUp(first!, resource, writer, 1);

    // A stream of readers: each would overlap the reader that holds, but comes after the writer.
    const granted: string[] = [];
    const reads = [];
    for (const [i, m] of later.entries()) {
      const lock = m.manager.createLock(resource, { mode: "shared" });
      expect(await lock.tryAcquire()).toBeUndefined();
      const { acquisition } = await queueUp(first!, resource, lock, 2 + i);
      reads.push(
        acquisition.then((token) => {
          granted.push(`reader ${i}`);
          return { lock, token };
        }),
      );
    }
    writing.then(() => granted.push("writer"));
    expect((await first!.manager.inspect(resource)).waiters.map((p) => p.mode)).toEqual([
      "exclusive",
      "shared",
      "shared",
      "shared",
    ]);

    await reader.release();
    const writeToken = await writing;
    expect(granted).toEqual(["writer"]);
    expect(writeToken).toBeGreaterThan(firstToken);
    expect((await first!.manager.inspect(resource)).holders.map((p) => p.mode)).toEqual(["exclusive"]);

    await writer.release();
    const readsAfter = await Promise.all(reads);
    expect(granted.slice(1).sort()).toEqual(["reader 0", "reader 1", "reader 2"]);
    // They hold together, each with a token above the writer's.
    expect((await first!.manager.inspect(resource)).holders).toHaveLength(3);
    for (const { token } of readsAfter) expect(token).toBeGreaterThan(writeToken);
    await Promise.all(readsAfter.map(({ lock }) => lock.release()));
  });

  it("watches what each waiter's rule names, and a release wakes only those it lets in", async () => {
    const { host, port } = hostAndPort(connect);
    // W0 holds; R1 R2 W3 R4 W5 wait, queued one at a time in that order.
    const plan = ["exclusive", "shared", "shared", "exclusive", "shared", "exclusive"] as const;
    const started = await sessions(plan.length);
    const locks = started.map((m, i) => m.manager.createLock(resource, { mode: plan[i] }));
    await locks[0]!.acquire();
    const acquisitions = [];
    for (let i = 1; i < plan.length; i++)
      acquisitions.push((await queueUp(started[0]!, resource, locks[i]!, i)).acquisition);
    const { path, holders, waiters } = await started[0]!.manager.inspect(resource);
    const nodes = [...holders, ...waiters].map((p) => `${path}/${p.node}`);
    expect([...holders, ...waiters].map((p) => p.sessionId)).toEqual(started.map((m) => sessionOf(m.client)));

    // Readers watch the nearest writer ahead, writers their predecessor; the holder watches nothing.
    // A waiter whose blocker's deletion would not let it in also watches what the blocker waits
    // for (its lookout): W3 the writer ahead of R2, R4 the predecessor of W3, W5 what R4 waits for.
    // Each waiter watches its own node too, which stays watched while it holds (its release fires
    // the watch).
    const sessionIds = started.map((m) => sessionOf(m.client));
    const watchesNow = async () => {
      const all = await watchesByPath(host, port);
      return sessionIds.map((s) => watchedBy(all, s).sort());
    };
    const expectWatches = (expected: string[][], message: string) => {
      const want = JSON.stringify(expected.map((paths) => [...paths].sort()));
      return waitFor(async () => JSON.stringify(await watchesNow()) === want, { message });
    };
    const [n0, n1, n2, n3, n4, n5] = nodes as [string, string, string, string, string, string];
    await expectWatches(
      [[], [n0, n1], [n0, n2], [n0, n2, n3], [n2, n3, n4], [n3, n4, n5]],
      "every waiter's watches",
    );

    const lists = started.map((m) => countListings(m.client));
    await locks[0]!.release();
    await Promise.all([acquisitions[0], acquisitions[1]]);
    // Once each waiter has an answer about the deleted node, any wake-up by its deletion has
    // happened: ZooKeeper sends a session its watch events before the replies to later requests.
    for (const m of started.slice(3)) expect(await m.client.exists(nodes[0]!)).toBe(false);
    // The readers hold by W0's deletion alone, without listing again; W3, woken by its lookout,
    // decides from its first listing less W0, without a listing too.
    expect(lists.slice(1).map((l) => l.count)).toEqual([0, 0, 0, 0, 0]);
    expect(locks.map((lock) => lock.state)).toEqual([
      "idle",
      "held",
      "held",
      "acquiring",
      "acquiring",
      "acquiring",
    ]);
    // W3, behind two holders, has no lookout: R2 waits for nothing.
    await expectWatches(
      [[], [n1], [n2], [n2, n3], [n2, n3, n4], [n3, n4, n5]],
      "the watches once the readers hold",
    );

    await locks[1]!.release();
    await locks[2]!.release();
    for (const [i, acquisition] of acquisitions.slice(2).entries()) {
      await acquisition;
      await locks[i + 3]!.release();
    }
  });

  it("wakes a reader whose watch went out as another reader of its session gave up the same watch", async () => {
    const [w, readers] = await sessions(2);
    const writer = w!.manager.createLock(resource);
    const writeToken = await writer.acquire();
    const giveUp = new AbortController();
    const gone = readers!.manager.createLock(resource, { mode: "shared" });
    const { acquisition: goneWaiting } = await queueUp(
      w!,
      resource,
      { acquire: () => gone.acquire({ signal: giveUp.signal }) },
      1,
    );
    await waitFor(async () => (await watchesOf(connect, readers!)).length > 0, {
      message: "the first reader's watch on the writer",
    });

    // The second reader's getData of the writer's node is on its way when the first gives up
    // its watch there: the server reads the removal after it, so it would take the watch just set.
    let once = true;
    readers!.client.onCall("watching", (path) => {
      if (once && path === writer.nodePath) {
        giveUp.abort();
        once = false;
      }
    });
    const reader = readers!.manager.createLock(resource, { mode: "shared" });
    const reading = reader.acquire();
    await expect(goneWaiting).rejects.toMatchObject({ code: "ABORTED" });
    // The session's requests are answered in order: the getData and any removal have been read.
    expect(await readers!.client.exists(writer.nodePath!)).toBe(true);
    expect(once).toBe(false);
    // The writer's node, and the waiting reader's own.
    const { path, waiters } = await w!.manager.inspect(resource);
    expect(await watchesOf(connect, readers!)).toEqual(
      [writer.nodePath, `${path}/${waiters[0]!.node}`].sort(),
    );

    await writer.release();
    expect(await reading).toBeGreaterThan(writeToken);
    await reader.release();
  });

  it("leaves no node behind for a shared wait that timed out, was aborted, or tried once", async () => {
    const [w, r] = await sessions(2);
    await expectAbandonedWaitsLeaveNothing(
      w!,
      r!,
      resource,
      w!.manager.createLock(resource),
      r!.manager.createLock(resource, { mode: "shared" }),
    );
  });
});

describe("re-entrancy of shared holds in one async call chain", () => {
  const managers: TestManager[] = [];

  afterEach(async () => {
    await Promise.allSettled(managers.map(({ manager }) => manager.close()));
    managers.length = 0;
    closeClients();
  });

  it("lets a shared call join an exclusive hold, whose node stays until it ends: no writer gets in (CURATOR-276, -621)", async () => {
    const [a, b, c] = await startManagers(connect, 3, "downgrade");
    managers.push(a!, b!, c!);
    let readerInside!: () => void;
    const inside = new Promise<void>((resolve) => (readerInside = resolve));
    let letReaderGo!: () => void;
    const readerMayGo = new Promise<void>((resolve) => (letReaderGo = resolve));
    let read!: Promise<bigint>;
    let outerToken = 0n;
    let writing!: Promise<bigint>;
    const writer = b!.manager.createLock(resource);

    await a!.manager.withLock(resource, async ({ token, lock }) => {
      outerToken = token;
      // The "downgrade": a shared call of the same chain, still running when the exclusive call ends.
      read = a!.manager.withLock(
        resource,
        async (shared) => {
          expect(shared.lock).toBe(lock);
          expect(shared.token).toBe(token);
          readerInside();
          await readerMayGo;
          return shared.token;
        },
        { mode: "shared" },
      );
      await inside;
      // A writer queues behind the exclusive hold (Curator's bug let it in at the write release).
      writing = writer.acquire();
      await waitFor(async () => (await a!.manager.inspect(resource)).waiters.length === 1, {
        message: "the writer queued",
      });
    });

    // The exclusive call ended; the shared call that joined it still holds its node.
    const { holders, waiters } = await c!.manager.inspect(resource);
    expect(holders.map((p) => p.sessionId)).toEqual([sessionOf(a!.client)]);
    expect(waiters.map((p) => p.sessionId)).toEqual([sessionOf(b!.client)]);
    expect(writer.state).toBe("acquiring");
    // Stricter than a true downgrade: the node is still exclusive, so readers elsewhere wait too.
    expect(await c!.manager.createLock(resource, { mode: "shared" }).tryAcquire()).toBeUndefined();

    letReaderGo();
    expect(await read).toBe(outerToken);
    expect(await writing).toBeGreaterThan(outerToken);
    await writer.release();
  });

  it("refuses an exclusive call inside a shared hold at once, and lets shared calls join it", async () => {
    const [a] = (await startManagers(connect, 1, "upgrade")) as [TestManager];
    managers.push(a);
    await a.manager.withLock(
      resource,
      async ({ lock }) => {
        const upgrade = a.manager.withLock(resource, () => "never runs");
        await expect(upgrade).rejects.toSatisfy((error) => isLockError(error, "CONFLICT"));
        await expect(upgrade).rejects.toThrow(/holds it shared.*take it exclusively from the start/);
        await expect(upgrade).rejects.toMatchObject({ resource });
        expect(lock.holdCount).toBe(1);
        expect(await childrenOf(a.client, lock.path)).toHaveLength(1);
        await a.manager.withLock(resource, (inner) => expect(inner.lock.holdCount).toBe(2), {
          mode: "shared",
        });
      },
      { mode: "shared" },
    );
  });
});
