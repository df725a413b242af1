import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  isLockError,
  type LockEvent,
  type LockOptions,
  LockTimeoutError,
  ZkLockManager,
} from "../src/index.js";
import { openManager, uniqueRoot, waitUntilWaiting } from "./support/client.js";
import { childrenOf, unstartedClient } from "./support/zk.js";

const connect = inject("zkConnect");
let a: Awaited<ReturnType<typeof openManager>>;
let b: Awaited<ReturnType<typeof openManager>>;

beforeAll(async () => {
  [a, b] = await Promise.all([openManager(connect), openManager(connect)]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
});

describe("the documented usage", () => {
  it("works exactly as written, and release leaves the resource directory empty", async () => {
    const { zk: zkClient, close } = unstartedClient(connect);
    const zkLock = new ZkLockManager();
    zkLock.init(zkClient); // configured but not started: init starts it
    const lockOptions: LockOptions = { rootDir: uniqueRoot(), acquireTimeout: 2000 };
    const lock = zkLock.createLock("resource", lockOptions);
    try {
      const token = await lock.acquire();
      expect(typeof token).toBe("bigint");
      expect(token).toBeGreaterThan(0n);
      expect(lock.isHeld).toBe(true);
      expect(await childrenOf(a.client, lock.path)).toHaveLength(1);
    } finally {
      await lock.release();
    }
    expect(lock.state).toBe("idle");
    expect(await childrenOf(a.client, lock.path)).toEqual([]);
    close();
  });

  it("takes a client that is still connecting", async () => {
    const client = unstartedClient(connect);
    client.start();
    const manager = new ZkLockManager().init(client.zk);
    await expect(manager.withLock("r", ({ token }) => token, { rootDir: uniqueRoot() })).resolves.toBeTypeOf(
      "bigint",
    );
    client.close();
  });
});

describe("mutual exclusion and fencing tokens", () => {
  it("hands the lock from session to session with strictly increasing tokens and no overlap", async () => {
    const rootDir = uniqueRoot();
    let inside = 0;
    let overlaps = 0;
    const tokens: bigint[] = [];
    const worker = async (manager: ZkLockManager) => {
      for (let i = 0; i < 15; i++) {
        await manager.withLock(
          "counter",
          async ({ token }) => {
            if (++inside > 1) overlaps++;
            tokens.push(token);
            await new Promise((resolve) => setImmediate(resolve));
            inside--;
          },
          { rootDir },
        );
      }
    };
    await Promise.all([worker(a.manager), worker(b.manager), worker(a.manager)]);
    expect(overlaps).toBe(0);
    expect(tokens).toHaveLength(45);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
  });

  it("gives the lock to the next contender as soon as the holder releases", async () => {
    const rootDir = uniqueRoot();
    const holder = a.manager.createLock("r", { rootDir });
    const first = await holder.acquire();
    const waiter = b.manager.createLock("r", { rootDir });
    const acquired = waiter.acquire();
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    await holder.release();
    expect(await acquired).toBeGreaterThan(first);
    await waiter.release();
  });
});

describe("giving up", () => {
  it("times out with LockTimeoutError and leaves only the holder's node", async () => {
    const rootDir = uniqueRoot();
    const holder = a.manager.createLock("r", { rootDir });
    await holder.acquire();
    const contender = b.manager.createLock("r", { rootDir, acquireTimeout: 150 });
    const error = await contender.acquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect(error).toMatchObject({ code: "TIMEOUT", resource: "r" });
    expect(await childrenOf(b.client, holder.path)).toEqual([holder.nodePath!.split("/").pop()]);
    expect(contender.state).toBe("idle");
    await holder.release();
  });

  it("stops on abort with code ABORTED and the signal's reason as cause, leaving nothing", async () => {
    const rootDir = uniqueRoot();
    const holder = a.manager.createLock("r", { rootDir });
    await holder.acquire();
    const controller = new AbortController();
    const waiting = b.manager.createLock("r", { rootDir }).acquire({ signal: controller.signal });
    // Seen through the waiter's own session, whose replies come in order: the waiter knows its node.
    // (Seen through another session, the abort could come before the create's reply, and the node
    // would go once that reply names it, a round trip later.)
    await waitUntilWaiting(b.manager, "r", rootDir, 1);
    const reason = new Error("shutdown");
    controller.abort(reason);
    const error = await waiting.catch((e: unknown) => e);
    expect(isLockError(error, "ABORTED")).toBe(true);
    expect((error as Error).cause).toBe(reason);
    expect(await childrenOf(b.client, holder.path)).toHaveLength(1);
    await holder.release();
  });

  it("stops on an abort that lands between its listing and its watch", async () => {
    const rootDir = uniqueRoot();
    const holder = a.manager.createLock("r", { rootDir });
    await holder.acquire();
    const own = await openManager(connect);
    const controller = new AbortController();
    // Abort as the reply of the waiter's first listing arrives: the lock goes on to watch its
    // predecessor with a signal that is already aborted.
    own.client.onCall("listed", () => controller.abort(new Error("gone")));
    const waiting = own.manager.createLock("r", { rootDir }).acquire({ signal: controller.signal });
    const outcome = await Promise.race([
      waiting.catch((e: unknown) => e),
      new Promise((resolve) => setTimeout(resolve, 5000, "still waiting")),
    ]);
    expect(isLockError(outcome, "ABORTED")).toBe(true);
    // It gave up before its create and listing were taken in: the node goes once they are.
    await waitFor(async () => (await childrenOf(a.client, holder.path)).length === 1, {
      message: "the waiter's node to be deleted",
    });
    await own.close();
    await holder.release();
  });

  it("does not even send a request when the signal is already aborted", async () => {
    const rootDir = uniqueRoot();
    const error = await a.manager
      .createLock("r", { rootDir })
      .acquire({ signal: AbortSignal.abort() })
      .catch((e) => e);
    expect(isLockError(error, "ABORTED")).toBe(true);
    expect(await childrenOf(a.client, rootDir)).toEqual([]);
  });

  it("fails with CONNECTION once the client is closed, and says to init() a new one", async () => {
    const own = await openManager(connect);
    own.client.close();
    const error = await own.manager
      .createLock("r", { rootDir: uniqueRoot() })
      .acquire()
      .catch((e) => e);
    expect(isLockError(error, "CONNECTION")).toBe(true);
    expect((error as Error).message).toMatch(/init\(\)/);
    expect(error).toMatchObject({ resource: "r" });
    await own.manager.close();
  });

  it("stops waiting when the manager is closed, and leaves no node behind", async () => {
    const rootDir = uniqueRoot();
    const holder = a.manager.createLock("r", { rootDir });
    await holder.acquire();
    const own = await openManager(connect);
    const waiting = own.manager.createLock("r", { rootDir }).acquire();
    await waitUntilWaiting(a.manager, "r", rootDir, 1);
    await own.manager.close();
    const error = await waiting.catch((e: unknown) => e);
    expect(isLockError(error, "NOT_INITIALIZED")).toBe(true);
    expect((error as Error).message).toMatch(/closed/);
    expect(error).toMatchObject({ resource: "r" });
    expect(await childrenOf(own.client, holder.path)).toHaveLength(1);
    own.client.close();
    await holder.release();
  });

  it("tries once without waiting", async () => {
    const rootDir = uniqueRoot();
    const holder = a.manager.createLock("r", { rootDir });
    await holder.acquire();
    const other = b.manager.createLock("r", { rootDir });
    expect(await other.tryAcquire()).toBeUndefined();
    await holder.release();
    expect(await other.tryAcquire()).toBeTypeOf("bigint");
    await other.release();
    expect(await childrenOf(a.client, holder.path)).toEqual([]);
  });
});

describe("handles", () => {
  it("are re-entrant: same token, node deleted when the count returns to zero", async () => {
    const lock = a.manager.createLock("r", { rootDir: uniqueRoot() });
    const token = await lock.acquire();
    expect(await lock.acquire()).toBe(token);
    expect(lock.holdCount).toBe(2);
    await lock.release();
    expect(await childrenOf(a.client, lock.path)).toHaveLength(1);
    await lock.release();
    expect(await childrenOf(a.client, lock.path)).toEqual([]);
  });

  it("refuse release() without a hold", async () => {
    const lock = a.manager.createLock("r", { rootDir: uniqueRoot() });
    await expect(lock.release()).rejects.toMatchObject({ code: "NOT_HELD" });
    await lock.acquire();
    await lock.release();
    await expect(lock.release()).rejects.toMatchObject({ code: "NOT_HELD" });
  });

  it("release everything with `await using`", async () => {
    const rootDir = uniqueRoot();
    let path: string;
    {
      await using lock = a.manager.createLock("r", { rootDir });
      await lock.acquire();
      await lock.acquire();
      path = lock.path;
    }
    expect(await childrenOf(a.client, path)).toEqual([]);
  });

  it("abort their signal once released, with a reason that says so", async () => {
    const lock = a.manager.createLock("r", { rootDir: uniqueRoot() });
    expect(lock.signal.reason).toMatchObject({ code: "NOT_HELD", message: 'The lock on "r" is not held.' });
    await lock.acquire();
    const { signal } = lock;
    expect(signal.aborted).toBe(false);
    await lock.release();
    expect(signal.aborted).toBe(true);
    const released = { code: "NOT_HELD", resource: "r", message: 'The lock on "r" was released.' };
    expect(signal.reason).toMatchObject(released);
    // Read after the release, it says the same.
    expect(lock.signal.reason).toMatchObject(released);
  });

  it("keep the error of a failed acquire() as the cause of the release() after it", async () => {
    const rootDir = uniqueRoot();
    const holder = b.manager.createLock("r", { rootDir });
    await holder.acquire();
    const lock = a.manager.createLock("r", { rootDir });
    // The shape many copy: the release in `finally` also runs when acquire() failed.
    const error = await (async () => {
      try {
        await lock.acquire({ timeout: 50 });
      } finally {
        await lock.release();
      }
    })().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "NOT_HELD", resource: "r" });
    expect((error as Error).cause).toBeInstanceOf(LockTimeoutError);
    expect((error as Error).message).toBe(
      'release() without a hold on "r"; the last acquire() on it failed: Timed out after 50 ms waiting for the lock on "r".',
    );
    await holder.release();
    // Once the handle has held, an unmatched release() has no failure to tell of.
    await lock.acquire();
    await lock.release();
    const unmatched = await lock.release().catch((e: unknown) => e);
    expect(unmatched).toMatchObject({ message: 'release() without a hold on "r".' });
    expect((unmatched as Error).cause).toBeUndefined();
  });
});

describe("withLock", () => {
  it("returns the function's result and releases when it throws", async () => {
    const rootDir = uniqueRoot();
    expect(await a.manager.withLock("r", ({ token }) => token + 1n, { rootDir })).toBeTypeOf("bigint");
    await expect(
      a.manager.withLock(
        "r",
        () => {
          throw new Error("boom");
        },
        { rootDir },
      ),
    ).rejects.toThrow("boom");
    await expect(
      a.manager.withLock("r", async () => Promise.reject(new Error("late")), { rootDir }),
    ).rejects.toThrow("late");
    expect(await childrenOf(a.client, `${rootDir}/r`)).toEqual([]);
  });
});

describe("observability", () => {
  it("emits acquired and released with wait and hold durations, and the hold's node and token", async () => {
    const rootDir = uniqueRoot();
    const seen: string[] = [];
    let hold = "";
    const onAcquired = (e: LockEvent & { waitMs: number }) => {
      if (e.resource === "observed") seen.push(`acquired ${e.waitMs >= 0} ${e.path} ${e.token}`);
    };
    const onReleased = (e: LockEvent & { holdMs: number }) => {
      if (e.resource === "observed") seen.push(`released ${e.holdMs >= 0} ${e.path} ${e.token}`);
    };
    a.manager.on("acquired", onAcquired).on("released", onReleased);
    await a.manager.withLock(
      "observed",
      ({ lock, token }) => {
        hold = `${lock.nodePath} ${token}`;
      },
      { rootDir },
    );
    a.manager.off("acquired", onAcquired).off("released", onReleased);
    expect(seen).toEqual([`acquired true ${hold}`, `released true ${hold}`]);
  });

  it("inspects who holds and who waits, in order, with their owner information", async () => {
    const rootDir = uniqueRoot();
    const holder = a.manager.createLock("job", { rootDir, label: "nightly" });
    await holder.acquire();
    const waiter = b.manager.createLock("job", { rootDir, label: "retry" });
    const waiting = waiter.acquire();
    await waitUntilWaiting(a.manager, "job", rootDir, 1);
    const seen = await a.manager.inspect("job", { rootDir });
    expect(seen.holder).toMatchObject({
      sessionId: a.client.sessionId,
      owner: { label: "nightly", pid: process.pid },
    });
    expect(seen.waiters).toHaveLength(1);
    expect(seen.waiters[0]).toMatchObject({ sessionId: b.client.sessionId, owner: { label: "retry" } });
    expect(Date.parse(seen.holder!.owner!.since)).not.toBeNaN();
    expect(await a.manager.resources({ rootDir })).toEqual(["job"]);
    await holder.release();
    await waiting;
    const afterwards = await b.manager.inspect("job", { rootDir });
    expect(afterwards).toMatchObject({ holder: { sessionId: b.client.sessionId }, waiters: [] });
    await waiter.release();
  });

  it("lists only resources under a root that other tools' nodes share", async () => {
    const rootDir = uniqueRoot();
    // Held, so that its (container) directory cannot be reaped meanwhile.
    await a.manager.withLock(
      "order:1",
      async () => {
        for (const foreign of ["50%off", "report.daily", "%2e%2e"])
          expect(await a.client.createRc(`${rootDir}/${foreign}`)).toBe(0);
        expect(await a.manager.resources({ rootDir })).toEqual(["order:1"]);
      },
      { rootDir },
    );
  });

  it("reports an unknown resource as free", async () => {
    expect(await a.manager.inspect("never", { rootDir: uniqueRoot() })).toMatchObject({
      holder: undefined,
      waiters: [],
    });
  });
});
