// Semaphores, each contender on its own session: at most `permits` hold, turns in arrival order,
// one watch per waiter (the first waiter's on the queue), no idle permit, refusals of processes that
// disagree, and nothing left behind.
import { startZooKeeper, waitFor, type ZooKeeperServer } from "@zk-dist-lock/testing";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import { isLockError, type ZkSemaphore } from "../src/index.js";
import {
  childrenOf,
  closeClients,
  countListings,
  expectAbandonedWaitsLeaveNothing,
  hostAndPort,
  killSession,
  queueUp,
  sessionOf,
  startManagers,
  type TestManager,
  watchCount,
  watchedBy,
  watchesByPath,
} from "./support/zk.js";

const shared = inject("zkConnect");
const resource = "geocoder";

const managers: TestManager[] = [];
afterEach(async () => {
  await Promise.allSettled(managers.map(({ manager }) => manager.close()));
  managers.length = 0;
  closeClients();
});

/** `count` managers, each on its own session, under one fresh root. */
async function sessions(count: number, connect = shared) {
  const started = await startManagers(connect, count, "semaphore");
  managers.push(...started);
  return started;
}

const codeOf = (error: unknown) => (isLockError(error) ? error.code : error);

describe("a semaphore", () => {
  it("lets `permits` hold at once and the rest wait, first come first served", async () => {
    const started = await sessions(6);
    const semaphores = started.map((m) => m.manager.createSemaphore(resource, { permits: 2 }));
    const [h0, h1, ...rest] = semaphores;
    const tokens = [await h0!.acquire(), await h1!.acquire()];
    expect(await rest[0]!.tryAcquire()).toBeUndefined();
    const order: number[] = [];
    const waits = [];
    for (const [i, semaphore] of rest.entries()) {
      const { acquisition } = await queueUp(started[0]!, resource, semaphore, 2 + i);
      waits.push(acquisition.then(() => order.push(i)));
    }
    const { holders, waiters } = await started[0]!.manager.inspect(resource);
    expect(holders.map((p) => [p.mode, p.permits, p.sessionId])).toEqual(
      started.slice(0, 2).map((m) => ["semaphore", 2, sessionOf(m.client)]),
    );
    expect(waiters.map((p) => p.sessionId)).toEqual(started.slice(2).map((m) => sessionOf(m.client)));

    // Each release lets the next in line in, and the permits in use never exceed two.
    const holding = [h0!, h1!];
    for (let turn = 0; turn < rest.length; turn++) {
      await holding.shift()!.release();
      await waitFor(() => order.length === turn + 1, { message: `waiter ${turn} granted` });
      holding.push(rest[turn]!);
      expect((await started[0]!.manager.inspect(resource)).holders).toHaveLength(2);
      tokens.push(rest[turn]!.token!);
    }
    expect(order).toEqual([0, 1, 2, 3]);
    // Tokens follow the queue: each permit's is above the token of every permit queued before it.
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
    await Promise.all(holding.map((s) => s.release()));
    await Promise.all(waits);
  });

  it("is re-entrant by handle, gives a lost permit back, and signals the loss", async () => {
    const [a, b] = await sessions(2);
    const mine = a!.manager.createSemaphore(resource, { permits: 1 });
    const token = await mine.acquire();
    expect(await mine.acquire()).toBe(token);
    expect(mine.holdCount).toBe(2);
    const theirs = b!.manager.createSemaphore(resource, { permits: 1 });
    const { acquisition } = await queueUp(b!, resource, theirs, 1);

    await killSession(shared, a!.client);
    await waitFor(() => mine.state === "lost", { message: "the permit lost" });
    expect(mine.signal.reason).toMatchObject({
      code: "LOST",
      message: expect.stringMatching(/^The permit of "geocoder"/),
    });
    expect(await acquisition).toBeGreaterThan(token);
    await mine[Symbol.asyncDispose]();
    await theirs.release();
  });

  it("leaves no node behind for a wait that timed out, was aborted, or tried once", async () => {
    const [a, b] = await sessions(2);
    await expectAbandonedWaitsLeaveNothing(
      a!,
      b!,
      resource,
      a!.manager.createSemaphore(resource, { permits: 1 }),
      b!.manager.createSemaphore(resource, { permits: 1 }),
    );
  });
});

describe("processes that disagree about a resource", () => {
  /** The resource held one way by session a; session b's attempt the other way, and what it leaves. */
  async function refused(hold: "lock" | "shared" | 3, attempt: "lock" | "shared" | 5) {
    const [a, b] = await sessions(2);
    const make = (m: TestManager, how: "lock" | "shared" | number) =>
      typeof how === "number"
        ? m.manager.createSemaphore(resource, { permits: how })
        : m.manager.createLock(resource, { mode: how === "lock" ? "exclusive" : "shared" });
    const holder = make(a!, hold);
    await holder.acquire();
    const holderNode = holder.nodePath!.slice(holder.path.length + 1);
    const error = await make(b!, attempt)
      .acquire()
      .catch((e: unknown) => e);
    const left = await childrenOf(a!.client, holder.path);
    expect(holder.state).toBe("held");
    await holder.release();
    return { error, left, holderNode };
  }

  it.each([
    [3, 5, /this semaphore asks for 5 permits, another process for 3/],
    [3, "lock", /a semaphore of 3 permits uses it/],
    [3, "shared", /a semaphore of 3 permits uses it/],
    ["lock", 5, /it is used as a lock \(exclusive\)/],
    ["shared", 5, /it is used as a lock \(shared\)/],
  ] as const)("held as %s, refuses %s with CONFLICT and no node left", async (hold, attempt, message) => {
    const { error, left, holderNode } = await refused(hold, attempt);
    expect(codeOf(error)).toBe("CONFLICT");
    expect(error).toMatchObject({ resource, message: expect.stringMatching(message) });
    expect((error as Error).message).toContain(`"${resource}"`);
    expect(left).toEqual([holderNode]);
  });

  it("refuses an election on the semaphore's directory with CONFLICT, as it refuses a lock", async () => {
    const [a, b] = await sessions(2);
    const holder = a!.manager.createSemaphore(resource, { permits: 3 });
    await holder.acquire();
    const election = b!.manager.createElection(resource, {
      rootDir: holder.path.slice(0, holder.path.lastIndexOf("/")),
    });
    expect(election.path).toBe(holder.path);
    const error = await election.campaign({ timeout: 2000 }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "CONFLICT",
      message: expect.stringMatching(/a semaphore of 3 permits uses it/),
    });
    expect(await childrenOf(a!.client, holder.path)).toEqual([
      holder.nodePath!.slice(holder.path.length + 1),
    ]);
    await holder.release();
  });

  it("refuses a lock, or other permits, inside a withSemaphore() of the same call chain, and joins the same", async () => {
    const [a] = await sessions(1);
    await a!.manager.withSemaphore(
      resource,
      async ({ semaphore, token }) => {
        await expect(a!.manager.withLock(resource, () => {})).rejects.toMatchObject({ code: "CONFLICT" });
        await expect(a!.manager.withSemaphore(resource, () => {}, { permits: 4 })).rejects.toThrow(
          /as a semaphore of 3 permits, not 4/,
        );
        const inner = await a!.manager.withSemaphore(resource, (joined) => joined, { permits: 3 });
        expect(inner.semaphore).toBe(semaphore);
        expect(inner.token).toBe(token);
        expect(await childrenOf(a!.client, semaphore.path)).toHaveLength(1);
      },
      { permits: 3 },
    );
  });
});

describe("the watches of a semaphore's waiters, on a server of its own", () => {
  let server: ZooKeeperServer;
  beforeAll(async () => {
    server = await startZooKeeper();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("one per waiter: the first on the queue, the others on their predecessor; no permit stays idle", async () => {
    const { host, port } = hostAndPort(server.connectString);
    const started = await sessions(5, server.connectString);
    const semaphores = started.map((m) => m.manager.createSemaphore(resource, { permits: 2 }));
    const [h0, h1, w2, w3, w4] = semaphores as [ZkSemaphore, ...ZkSemaphore[]];
    await h0.acquire();
    await h1!.acquire();
    const acquisitions = [];
    for (const [i, semaphore] of [w2!, w3!, w4!].entries()) {
      acquisitions.push((await queueUp(started[0]!, resource, semaphore, 2 + i)).acquisition);
    }
    const { path, holders, waiters } = await started[0]!.manager.inspect(resource);
    const nodes = [...holders, ...waiters].map((p) => `${path}/${p.node}`);
    // Holders granted at a listing with nobody behind them wrote no mark.
    expect(holders.map((p) => p.owner?.granted)).toEqual([undefined, undefined]);
    const ids = started.map((m) => sessionOf(m.client));

    // Node watches (wchp): w3 on w2, w4 on w3, nobody on a holder; and one children watch (w2's),
    // which wchp does not list but the server's total (mntr) counts.
    const nodeWatches = (all: Map<string, string[]>) => ids.map((id) => watchedBy(all, id));
    await waitFor(async () => (await watchCount(host, port)) === 3, { message: "three watches" });
    expect(nodeWatches(await watchesByPath(host, port))).toEqual([[], [], [], [nodes[2]], [nodes[3]]]);

    const lists = started.map((m) => countListings(m.client));
    await h0.release();
    await acquisitions[0];
    // w2 was granted with w3 and w4 behind it: its mark wakes w3, now the first waiter, which
    // watches the queue instead; w4 keeps its watch on w3 and is not woken.
    await waitFor(async () => (await watchCount(host, port)) === 2 && lists[3]!.count >= 2, {
      message: "w3 watching the queue",
    });
    expect(lists[4]!.count).toBe(0);
    expect(nodeWatches(await watchesByPath(host, port))).toEqual([[], [], [], [], [nodes[3]]]);
    expect((await started[0]!.manager.inspect(resource)).holders.map((p) => p.owner?.granted)).toEqual([
      undefined,
      expect.any(String),
    ]);

    // The permit h1 gives back goes to w3 at once, though it first waited behind w2, a waiter then.
    await h1!.release();
    await acquisitions[1];
    await w2!.release();
    await acquisitions[2];
    await w3!.release();
    await w4!.release();
    // No watch outlives its wait.
    await waitFor(async () => (await watchCount(host, port)) === 0, { message: "no watch left" });
    expect(await childrenOf(started[0]!.client, path)).toEqual([]);
  });
});
