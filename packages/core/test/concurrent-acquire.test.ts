// Calls that overlap on one handle (a handle per resource kept in a map, a withLock joined by the
// concurrent chains of one hold): each settles on its own terms, and they share one place in the
// queue for as long as one of them waits.
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { isLockError, type LockErrorCode, type ZkLock } from "../src/index.js";
import { openManager, uniqueRoot, waitUntilWaiting } from "./support/client.js";
import { childrenOf, closeClients, killSession, startManager } from "./support/zk.js";

const connect = inject("zkConnect");
let a: Awaited<ReturnType<typeof openManager>>;
let b: Awaited<ReturnType<typeof openManager>>;
let c: Awaited<ReturnType<typeof openManager>>;

beforeAll(async () => {
  [a, b, c] = await Promise.all([openManager(connect), openManager(connect), openManager(connect)]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), c?.close()]);
});

/** A call followed as it goes: settled or not, and with what. */
function follow<T>(promise: Promise<T>) {
  const call = {
    settled: false,
    value: undefined as T | undefined,
    error: undefined as unknown,
    done: promise.then(
      (value) => {
        call.value = value;
      },
      (error: unknown) => {
        call.error = error;
      },
    ),
  };
  call.done.finally(() => {
    call.settled = true;
  });
  return call;
}

const codeOf = (error: unknown): LockErrorCode | undefined => (isLockError(error) ? error.code : undefined);

/** The lock nodes of `lock`'s resource, by name, sorted. */
const nodesOf = async (lock: ZkLock) => (await childrenOf(a.client, lock.path)).sort();

/** A lock on a fresh resource held by session b, and a handle on it of session a. */
async function contended() {
  const rootDir = uniqueRoot("overlap");
  const holder = b.manager.createLock("r", { rootDir });
  const heldToken = await holder.acquire();
  return { rootDir, holder, heldToken, lock: a.manager.createLock("r", { rootDir }) };
}

describe("overlapping acquire() calls on one handle", () => {
  it("settle each on its own timeout and signal, and the hold counts the ones that got it", async () => {
    const { rootDir, holder, heldToken, lock } = await contended();
    const abort = new AbortController();
    const reason = new Error("this caller is done");
    const started = performance.now();
    const calls = {
      short: follow(lock.acquire({ timeout: 150 })),
      long: follow(lock.acquire({ timeout: 20_000 })),
      unlimited: follow(lock.acquire()),
      aborted: follow(lock.acquire({ signal: abort.signal })),
      alreadyAborted: follow(lock.acquire({ signal: AbortSignal.abort() })),
      once: follow(lock.acquire({ timeout: 0 })),
      abortable: follow(lock.acquire({ signal: new AbortController().signal, timeout: 20_000 })),
    };
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    const [waiting] = (await b.manager.inspect("r", { rootDir })).waiters;
    abort.abort(reason);
    await Promise.all(
      [calls.short, calls.aborted, calls.alreadyAborted, calls.once].map((call) => call.done),
    );

    expect(codeOf(calls.short.error)).toBe("TIMEOUT");
    expect(calls.short.error).toMatchObject({ resource: "r" });
    expect(codeOf(calls.aborted.error)).toBe("ABORTED");
    expect((calls.aborted.error as Error).cause).toBe(reason);
    expect(codeOf(calls.alreadyAborted.error)).toBe("ABORTED");
    expect(codeOf(calls.once.error)).toBe("TIMEOUT");
    // A correctness bound, not a speed check: it gave up long before the lock came free.
    expect(performance.now() - started).toBeLessThan(10_000);
    expect([calls.long, calls.unlimited, calls.abortable].map((call) => call.settled)).toEqual([
      false,
      false,
      false,
    ]);
    expect(lock.state).toBe("acquiring");
    // They gave up alone: the one place in the queue stays, with its first node.
    expect(await nodesOf(lock)).toEqual([holder.nodePath!.split("/").pop(), waiting!.node].sort());

    await holder.release();
    await Promise.all([calls.long, calls.unlimited, calls.abortable].map((call) => call.done));
    const tokens = [calls.long.value, calls.unlimited.value, calls.abortable.value];
    expect(tokens[0]).toBeGreaterThan(heldToken);
    expect(new Set(tokens)).toEqual(new Set([tokens[0]]));
    expect(lock.holdCount).toBe(3);
    expect(lock.nodePath!.split("/").pop()).toBe(waiting!.node);
    for (let i = 0; i < 3; i++) await lock.release();
    expect(await nodesOf(lock)).toEqual([]);
  });

  it("keep the place a first call took when it gives up, ahead of a later session", async () => {
    const { rootDir, holder, lock } = await contended();
    const first = follow(lock.acquire({ timeout: 300 }));
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    const second = follow(lock.acquire({ timeout: 20_000 }));
    const other = c.manager.createLock("r", { rootDir });
    const behind = follow(other.acquire());
    await waitUntilWaiting(b.manager, "r", rootDir, 2);
    await first.done;
    expect(codeOf(first.error)).toBe("TIMEOUT");
    expect(second.settled).toBe(false);

    await holder.release();
    await second.done;
    expect(second.error).toBeUndefined();
    expect(lock.holdCount).toBe(1);
    expect(behind.settled).toBe(false);
    await lock.release();
    await behind.done;
    expect(other.token).toBeGreaterThan(second.value!);
    await other.release();
  });

  it("beside a call without a limit, time out on their own", async () => {
    const { rootDir, holder, lock } = await contended();
    const unlimited = follow(lock.acquire());
    const short = follow(lock.acquire({ timeout: 300 }));
    await short.done;
    expect(codeOf(short.error)).toBe("TIMEOUT");
    expect(unlimited.settled).toBe(false);
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    await holder.release();
    await unlimited.done;
    expect(lock.holdCount).toBe(1);
    await lock.release();
  });

  it("beside a call whose signal aborts, go on waiting", async () => {
    const { rootDir, holder, lock } = await contended();
    const abort = new AbortController();
    const aborted = follow(lock.acquire({ signal: abort.signal }));
    const plain = follow(lock.acquire());
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    abort.abort();
    await aborted.done;
    expect(codeOf(aborted.error)).toBe("ABORTED");
    expect(plain.settled).toBe(false);
    await holder.release();
    await plain.done;
    expect(lock.holdCount).toBe(1);
    await lock.release();
  });

  it("give the place up, leaving nothing behind, when the last one waiting gives up", async () => {
    const { rootDir, holder, lock } = await contended();
    const abort = new AbortController();
    const timed = follow(lock.acquire({ timeout: 100 }));
    const aborted = follow(lock.acquire({ signal: abort.signal }));
    await timed.done;
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    abort.abort();
    await aborted.done;
    expect([codeOf(timed.error), codeOf(aborted.error)]).toEqual(["TIMEOUT", "ABORTED"]);
    // The last call heard of it once the node was deleted.
    expect(await nodesOf(lock)).toEqual([holder.nodePath!.split("/").pop()]);
    expect(lock.state).toBe("idle");
    await holder.release();
    expect(await lock.tryAcquire()).toBeTypeOf("bigint");
    await lock.release();
    expect(await nodesOf(lock)).toEqual([]);
  });

  it("made while an abandoned attempt cleans up, start a place of their own", async () => {
    const { rootDir, holder, lock } = await contended();
    const abort = new AbortController();
    const aborted = follow(lock.acquire({ signal: abort.signal }));
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    abort.abort();
    // In the same tick, while the aborted attempt still deletes its node.
    const next = follow(lock.acquire());
    await aborted.done;
    expect(codeOf(aborted.error)).toBe("ABORTED");
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    expect(next.settled).toBe(false);
    await holder.release();
    await next.done;
    expect(next.error).toBeUndefined();
    expect(lock.holdCount).toBe(1);
    await lock.release();
    expect(await nodesOf(lock)).toEqual([]);
  });

  it("made while a try-once attempt that found the lock taken deletes its node, wait on their own terms", async () => {
    const rootDir = uniqueRoot("overlap");
    const holder = b.manager.createLock("r", { rootDir });
    await holder.acquire();
    const own = await openManager(connect);
    const lock = own.manager.createLock("r", { rootDir });
    let joined: ReturnType<typeof follow<bigint>> | undefined;
    // Join at the moment the failed try sends the deletion of its node.
    own.client.onCall("delete", () => {
      joined ??= follow(lock.acquire());
    });
    expect(await lock.tryAcquire()).toBeUndefined();
    expect(joined).toBeDefined();
    await Promise.race([joined!.done, waitUntilWaiting(b.manager, "r", rootDir, 1)]);
    expect(joined!.error).toBeUndefined();
    expect(joined!.settled).toBe(false);
    await holder.release();
    await joined!.done;
    expect(joined!.error).toBeUndefined();
    await lock.release();
    await own.close();
  });

  it("with timeout 0 share the first try: both get a free lock", async () => {
    const lock = a.manager.createLock("r", { rootDir: uniqueRoot("overlap") });
    const [waited, tried] = await Promise.all([lock.acquire(), lock.tryAcquire()]);
    expect(tried).toBe(waited);
    expect(lock.holdCount).toBe(2);
    await lock.release();
    await lock.release();
    expect(await nodesOf(lock)).toEqual([]);
  });

  it("with timeout 0 give up when the shared attempt finds the lock taken, and the others wait on", async () => {
    const { rootDir, holder, lock } = await contended();
    // The try-once call starts the attempt; a call without a limit joins before its first listing.
    const tried = follow(lock.tryAcquire());
    const waited = follow(lock.acquire());
    await tried.done;
    expect(tried.error).toBeUndefined();
    expect(tried.value).toBeUndefined();
    // Joining an attempt that already waits, a try-once call gives up at once.
    expect(await lock.tryAcquire()).toBeUndefined();
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    expect(waited.settled).toBe(false);
    await holder.release();
    await waited.done;
    expect(lock.holdCount).toBe(1);
    await lock.release();
  });

  it("with timeout 0 beside a call that already waits give up at once", async () => {
    const { rootDir, holder, lock } = await contended();
    const waited = follow(lock.acquire());
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    const tried = follow(lock.tryAcquire());
    await waitFor(() => tried.settled, { timeoutMs: 5000, message: "the try-once call to settle" });
    expect(tried.value).toBeUndefined();
    expect(tried.error).toBeUndefined();
    expect(waited.settled).toBe(false);
    await holder.release();
    await waited.done;
    expect(lock.holdCount).toBe(1);
    await lock.release();
  });

  it("on a held handle count up at once, unless their signal already aborted", async () => {
    const lock = a.manager.createLock("r", { rootDir: uniqueRoot("overlap") });
    const token = await lock.acquire();
    expect(await lock.acquire({ timeout: 0 })).toBe(token);
    const error = await lock.acquire({ signal: AbortSignal.abort(new Error("no")) }).catch((e) => e);
    expect(codeOf(error)).toBe("ABORTED");
    expect(lock.holdCount).toBe(2);
    await lock[Symbol.asyncDispose]();
    expect(await nodesOf(lock)).toEqual([]);
  });

  it("all fail with CONNECTION, naming the resource, when the session ends", async () => {
    const own = await openManager(connect);
    const rootDir = uniqueRoot("overlap");
    const holder = b.manager.createLock("r", { rootDir });
    await holder.acquire();
    const lock = own.manager.createLock("r", { rootDir });
    const calls = [follow(lock.acquire()), follow(lock.acquire({ timeout: 20_000 }))];
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    own.client.close();
    await Promise.all(calls.map((call) => call.done));
    for (const call of calls) expect(call.error).toMatchObject({ code: "CONNECTION", resource: "r" });
    await own.manager.close();
    await holder.release();
  });
});

describe("withLock joined by concurrent chains of its hold", () => {
  it("settles each joined call on its own terms, counts those that joined, and holds until the last ends", async () => {
    const rootDir = uniqueRoot("overlap");
    const { manager } = a;
    let peak = 0;
    let outerLock: ZkLock | undefined;
    let straggler: Promise<unknown> | undefined;
    let releaseStraggler = () => {};
    const joined = (options: Parameters<typeof manager.withLock>[2]) =>
      manager.withLock(
        "r",
        async ({ lock, token }) => {
          expect(lock).toBe(outerLock);
          expect(token).toBe(outerLock!.token);
          peak = Math.max(peak, lock.holdCount);
          await new Promise((resolve) => setTimeout(resolve, 20));
          return "joined";
        },
        { rootDir, ...options },
      );
    const results = await manager.withLock(
      "r",
      async ({ lock }) => {
        outerLock = lock;
        const settled = await Promise.allSettled([
          joined({}),
          joined({ timeout: 0 }),
          joined({ timeout: 50, signal: new AbortController().signal }),
          joined({ signal: AbortSignal.abort() }),
        ]);
        // A chain that outlives this function keeps the hold until it ends.
        straggler = manager.withLock(
          "r",
          ({ lock: inner }) => {
            expect(inner).toBe(lock);
            return new Promise<void>((resolve) => {
              releaseStraggler = resolve;
            });
          },
          { rootDir },
        );
        return settled.map((result) =>
          result.status === "fulfilled" ? result.value : codeOf(result.reason),
        );
      },
      { rootDir },
    );
    expect(results).toEqual(["joined", "joined", "joined", "ABORTED"]);
    expect(peak).toBe(4);
    expect(outerLock!.holdCount).toBe(1);
    expect(await nodesOf(outerLock!)).toHaveLength(1);
    releaseStraggler();
    await straggler;
    expect(outerLock!.holdCount).toBe(0);
    expect(await nodesOf(outerLock!)).toEqual([]);
  });

  it("fails every joined call with LOST once the hold is lost", async () => {
    const own = await startManager(connect, { rootDir: uniqueRoot("overlap"), sessionTimeoutMs: 4000 });
    try {
      const outcome = await own.manager.withLock("r", async ({ lock }) => {
        await killSession(connect, own.client);
        await waitFor(() => lock.state === "lost", { message: "the hold to be lost" });
        const settled = await Promise.allSettled([
          own.manager.withLock("r", () => "joined"),
          own.manager.withLock("r", () => "joined", { timeout: 100 }),
        ]);
        return settled.map((result) => (result.status === "rejected" ? codeOf(result.reason) : result.value));
      });
      expect(outcome).toEqual(["LOST", "LOST"]);
    } finally {
      await own.manager.close();
      closeClients();
    }
  });
});
