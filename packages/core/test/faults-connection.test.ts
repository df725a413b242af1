// Connection losses at the worst moments, made by a TCP proxy between the client and the shared
// server: a create whose reply is lost, giving up (timeout, abort) while disconnected, and a
// waiter's turn in the watch events that a reconnect brings.
import { startProxy, waitFor, type ZooKeeperProxy } from "@zk-dist-lock/testing";
import { describe, expect, inject, it } from "vitest";
import { isLockError, LockLostError, Perms } from "../src/index.js";
import { onBinding } from "./support/kind.js";
import {
  childrenOf,
  countListings,
  eventsNamed,
  expectWatches,
  queueNodes,
  queueUp,
  startManager,
  type TestManager,
  trackedSessions,
  uniqueRoot,
} from "./support/zk.js";

const connect = inject("zkConnect");
const resource = "report";

describe("connection loss", () => {
  const { managers, proxies, observer } = trackedSessions(connect);

  /** A manager whose only way to the server is a new proxy. */
  async function proxied(rootDir: string): Promise<[TestManager, ZooKeeperProxy]> {
    const proxy = await startProxy(connect);
    proxies.push(proxy);
    // The C client waits up to a third of the session timeout for a reconnection attempt: keep it short.
    const started = await startManager(proxy.connectString, { rootDir, sessionTimeoutMs: 6000 });
    managers.push(started);
    return [started, proxy];
  }

  it("adopts its own node after a create whose reply was lost, instead of creating another", async () => {
    const rootDir = uniqueRoot("lost-reply");
    const [contender, proxy] = await proxied(rootDir);
    const lock = contender.manager.createLock(resource);
    const dropped = proxy.dropReply({ kind: "create", path: "/_c_" });
    // A second node would queue behind the orphan of the first forever: time out rather than hang.
    const token = await lock.acquire({ timeout: 10_000 });
    const reply = await dropped;

    // The server created the node, the client never heard so, reconnected within its session...
    expect(reply.err).toBe(0);
    expect(contender.client.connects).toBe(2);
    expect(contender.client.closedWith).toBeUndefined();
    // ...and holds the lock with exactly that node: no second one was created.
    expect(lock.nodePath).toBe(reply.path);
    const dir = `${rootDir}/${resource}`;
    expect(await childrenOf(observer(), dir)).toEqual([reply.path?.slice(dir.length + 1)]);
    expect(token).toBeGreaterThan(0n);

    await lock.release();
    expect(await childrenOf(observer(), dir)).toEqual([]);
  });

  it("creates its node again after a create that never reached the server", async () => {
    const rootDir = uniqueRoot("lost-request");
    const [contender, proxy] = await proxied(rootDir);
    const lock = contender.manager.createLock(resource);
    const dropped = proxy.dropRequest({ kind: "create", path: "/_c_" });
    await lock.acquire({ timeout: 10_000 });
    await dropped;
    expect(contender.client.connects).toBe(2);
    const dir = `${rootDir}/${resource}`;
    expect(await childrenOf(observer(), dir)).toEqual([lock.nodePath?.slice(dir.length + 1)]);
    await lock.release();
    expect(await childrenOf(observer(), dir)).toEqual([]);
  });

  it("deletes the node of a lost create reply once reconnected when the acquire gave up meanwhile", async () => {
    const rootDir = uniqueRoot("lost-reply-timeout");
    const [contender, proxy] = await proxied(rootDir);
    const dir = `${rootDir}/${resource}`;
    const lock = contender.manager.createLock(resource);
    const dropped = proxy.dropReply({ kind: "create", path: "/_c_" }, { thenRefuse: true });
    const failure = await lock.acquire({ timeout: 1500 }).catch((error: unknown) => error);
    // Cut off when its time ran out: an outage (CONNECTION), not contention (TIMEOUT).
    expect(isLockError(failure, "CONNECTION"), String(failure)).toBe(true);
    expect((failure as Error).message).toMatch(
      new RegExp(
        `after 1500 ms: no connection to ZooKeeper at ${proxy.connectString} for the last \\d+ ms \\(suspended`,
      ),
    );
    const reply = await dropped;
    expect(reply.err).toBe(0);
    // The orphan is still there while the client is cut off...
    const orphan = reply.path?.slice(dir.length + 1);
    expect(await childrenOf(observer(), dir)).toEqual([orphan]);

    // ...and goes once the client is back in the same session.
    proxy.heal();
    await waitFor(async () => (await childrenOf(observer(), dir)).length === 0, {
      message: "the orphaned node to be deleted",
    });
    expect(contender.client.closedWith).toBeUndefined();
    expect(contender.client.connects).toBe(2);
    expect(lock.state).toBe("idle");
  });

  it("deletes an aborted waiter's node once reconnected", async () => {
    const rootDir = uniqueRoot("abort-disconnected");
    const holder = await startManager(connect, { rootDir });
    managers.push(holder);
    const holderLock = holder.manager.createLock(resource);
    await holderLock.acquire();
    const [waiter, proxy] = await proxied(rootDir);
    const controller = new AbortController();
    const waiting = waiter.manager.createLock(resource).acquire({ signal: controller.signal });
    waiting.catch(() => {});
    await waitFor(async () => (await holder.manager.inspect(resource)).waiters.length === 1, {
      message: "the waiter in the queue",
    });

    const disconnects = waiter.client.disconnects;
    proxy.refuse();
    await waitFor(() => waiter.client.disconnects > disconnects, { message: "the waiter to be cut off" });
    controller.abort(new Error("the caller gave up"));
    const failure = await waiting.catch((error: unknown) => error);
    expect(isLockError(failure, "ABORTED"), String(failure)).toBe(true);
    expect((failure as Error).cause).toEqual(new Error("the caller gave up"));
    // Still queued on the server while the waiter is cut off; gone once it is back.
    expect((await holder.manager.inspect(resource)).waiters).toHaveLength(1);

    proxy.heal();
    await waitFor(async () => (await holder.manager.inspect(resource)).waiters.length === 0, {
      message: "the aborted waiter's node to be deleted",
    });
    expect(waiter.client.closedWith).toBeUndefined();
    await holderLock.release();
    expect(await childrenOf(observer(), `${rootDir}/${resource}`)).toEqual([]);
  });

  // A server that stops answering shows only through the client's read timeout, two thirds of the
  // session timeout (4 s here): a call must not wait for it to settle by its own timeout or signal.
  it("gives up by its own timeout or signal on a server that stopped answering, and deletes its node once back", async () => {
    const rootDir = uniqueRoot("hung-server");
    const holder = await startManager(connect, { rootDir });
    managers.push(holder);
    const holderLock = holder.manager.createLock(resource);
    await holderLock.acquire();
    const [waiter, proxy] = await proxied(rootDir);
    const queued = waiter.manager.createLock(resource);
    const waiting = queued.acquire({ timeout: 500 });
    waiting.catch(() => {});
    const aborted = waiter.manager.createLock(resource).acquire({ signal: AbortSignal.timeout(500) });
    aborted.catch(() => {});
    await waitFor(async () => (await holder.manager.inspect(resource)).waiters.length === 2, {
      message: "both waiters in the queue",
    });
    const disconnects = waiter.client.disconnects;
    proxy.blackhole();
    // Their deletions go into the silence as well.
    await expect(waiting).rejects.toMatchObject({ code: "TIMEOUT" });
    await expect(aborted).rejects.toMatchObject({ code: "ABORTED" });
    expect(waiter.client.disconnects, "settled before the client gave up on the server").toBe(disconnects);

    // An acquire whose create goes into the silence gives up as well.
    const idle = waiter.manager.createLock(`${resource}-idle`);
    await expect(idle.acquire({ timeout: 500 })).rejects.toMatchObject({ code: "TIMEOUT" });
    expect(waiter.client.disconnects, "settled before the client gave up on the server").toBe(disconnects);
    expect([queued.state, idle.state]).toEqual(["idle", "idle"]);

    proxy.heal();
    await waitFor(async () => (await holder.manager.inspect(resource)).waiters.length === 0, {
      message: "the waiters' nodes to be deleted",
    });
    expect(await childrenOf(observer(), `${rootDir}/${resource}-idle`).catch(() => [])).toEqual([]);
    expect(waiter.client.closedWith).toBeUndefined();
    expect(eventsNamed(waiter.events, "cleanupFailed")).toEqual([]);
  });

  it("fails a try on a server that stopped answering with CONNECTION once the client notices, not after it reconnects", async () => {
    const rootDir = uniqueRoot("hung-try");
    const [contender, proxy] = await proxied(rootDir);
    const lock = contender.manager.createLock(resource);
    await contender.manager.inspect(resource); // connected, and the root known
    proxy.blackhole();
    const tried = lock.tryAcquire();
    // The client notices at two thirds of the session timeout and cannot reconnect through the
    // blackhole: the try ends with the connection, whichever client this is.
    await expect(tried).rejects.toMatchObject({ code: "CONNECTION" });
    expect(lock.state).toBe("idle");
    proxy.heal();
    await waitFor(() => contender.client.connects === 2, { message: "the client back in its session" });
    await waitFor(
      async () => (await childrenOf(observer(), `${rootDir}/${resource}`).catch(() => [])).length === 0,
      {
        message: "no node left of the try",
      },
    );
    expect(await lock.tryAcquire()).toBeGreaterThan(0n);
    await lock.release();
  });

  it("settles a pending deletion quietly when the application shuts down before it reconnects", async () => {
    const rootDir = uniqueRoot("close-pending");
    const proxy = await startProxy(connect);
    proxies.push(proxy);
    const holder = await startManager(proxy.connectString, { rootDir, sessionTimeoutMs: 2000 });
    managers.push(holder);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const lock = holder.manager.createLock(resource);
      await lock.acquire();
      const disconnects = holder.client.disconnects;
      proxy.refuse();
      await waitFor(() => holder.client.disconnects > disconnects, { message: "the holder to be cut off" });
      await lock.release(); // does not wait for the connection; the deletion waits for it
      // The application shuts down, in the documented order, before the connection comes back.
      await holder.manager.close();
      holder.client.zk.close();

      // The session ends without us (it expires), and its node with it; nothing is reported as a
      // failed clean-up, and nothing rejects unhandled.
      await waitFor(async () => (await childrenOf(observer(), `${rootDir}/${resource}`)).length === 0, {
        timeoutMs: 20_000,
        message: "the node to go with the session",
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(holder.events.filter((e) => e.name === "cleanupFailed")).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("reports a deletion refused after a reconnect as cleanupFailed, without an unhandled rejection", async () => {
    const rootDir = uniqueRoot("refused-delete");
    const [holder, proxy] = await proxied(rootDir);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const lock = holder.manager.createLock(resource);
      await lock.acquire();
      const node = lock.nodePath;
      // An operator takes the DELETE right on the resource directory away (a misconfigured ACL).
      await observer().setAcl(`${rootDir}/${resource}`, [
        { perms: Perms.READ | Perms.CREATE, scheme: "world", auth: "anyone" },
      ]);
      const disconnects = holder.client.disconnects;
      proxy.refuse();
      await waitFor(() => holder.client.disconnects > disconnects, { message: "the holder to be cut off" });
      await lock.release();
      proxy.heal();

      const [failed] = await waitFor(() => {
        const reported = eventsNamed(holder.events, "cleanupFailed");
        return reported.length > 0 && reported;
      });
      expect(failed).toMatchObject({ resource, path: node });
      expect(failed?.error).toMatchObject({ rc: -102 }); // NOAUTH
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("deletes a node released while cut off once reconnected, and the next waiter gets the lock", async () => {
    const rootDir = uniqueRoot("release-disconnected");
    const [holder, proxy] = await proxied(rootDir);
    const lock = holder.manager.createLock(resource);
    const token = await lock.acquire();
    const waiter = await startManager(connect, { rootDir });
    managers.push(waiter);
    const waiting = waiter.manager.createLock(resource).acquire();
    await waitFor(async () => (await waiter.manager.inspect(resource)).waiters.length === 1, {
      message: "the waiter in the queue",
    });

    const disconnects = holder.client.disconnects;
    proxy.refuse();
    await waitFor(() => holder.client.disconnects > disconnects, { message: "the holder to be cut off" });
    await lock.release(); // resolves without the connection
    expect(lock.state).toBe("idle");
    expect((await waiter.manager.inspect(resource)).holder?.sessionId).toBe(holder.client.sessionId);

    proxy.heal();
    expect(await waiting).toBeGreaterThan(token);
    expect(holder.client.closedWith).toBeUndefined();
    expect(eventsNamed(holder.events, "cleanupFailed")).toEqual([]);
  });

  it("shows a silently partitioned holder's hold in doubt before the server hands the lock on", async () => {
    const rootDir = uniqueRoot("partition");
    const proxy = await startProxy(connect);
    proxies.push(proxy);
    const holder = await startManager(proxy.connectString, { rootDir, sessionTimeoutMs: 3000 });
    const waiter = await startManager(connect, { rootDir });
    managers.push(holder, waiter);
    const lock = holder.manager.createLock(resource);
    const token = await lock.acquire();
    const waiting = waiter.manager.createLock(resource).acquire();
    await waitFor(async () => (await waiter.manager.inspect(resource)).waiters.length === 1, {
      message: "the waiter in the queue",
    });
    let believed: string | undefined;
    waiter.manager.once("acquired", () => {
      believed = lock.state; // what the old holder thinks when the new one gets the lock
    });

    // The server runs on and expires the holder's session after the session timeout. The client
    // notices the silence after two thirds of it and declares the hold lost a session timeout
    // after that, so the new holder may come first — but never before the hold is suspended.
    proxy.blackhole();
    expect(await waiting).toBeGreaterThan(token);
    expect(["suspended", "lost"]).toContain(believed);
    await waitFor(() => lock.signal.aborted, { message: "the partitioned hold to be lost" });
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(holder.client.connects).toBe(1); // it never heard from the server meanwhile
    proxy.heal();
    await lock.release();
  });

  it("uses under 5 % of a core while cut off, whether refused or silently partitioned", async () => {
    const rootDir = uniqueRoot("cut-off-cpu");
    // A resource bound, not a timing: the CPU time this process spends over a window in which
    // the client can do nothing but try to reconnect (a spinning poll loop would use a whole core).
    const cpuShareOver = async (ms: number) => {
      const before = process.cpuUsage();
      const start = performance.now();
      await new Promise((resolve) => setTimeout(resolve, ms));
      const { user, system } = process.cpuUsage(before);
      return (user + system) / 1000 / (performance.now() - start);
    };
    for (const partition of ["refuse", "blackhole"] as const) {
      const proxy = await startProxy(connect);
      proxies.push(proxy);
      const holder = await startManager(proxy.connectString, { rootDir, sessionTimeoutMs: 6000 });
      managers.push(holder);
      const lock = holder.manager.createLock(`${resource}-${partition}`);
      await lock.acquire();
      const cutOff = async (which: string) => {
        const disconnects = holder.client.disconnects;
        proxy[partition]();
        // A blackhole shows only through the client's read timeout (2/3 of the session timeout).
        await waitFor(() => holder.client.disconnects > disconnects, {
          timeoutMs: 20_000,
          message: `the holder to notice the ${which} ${partition}`,
        });
      };
      // The binding's poll loop spins on a loss after a reconnect, not on the first: cut the client
      // off, let it reconnect, and measure while it is cut off the second time.
      await cutOff("first");
      const connects = holder.client.connects;
      proxy.heal();
      await waitFor(() => holder.client.connects > connects && lock.state === "held", {
        timeoutMs: 20_000,
        message: `the holder back after the first ${partition}`,
      });
      await cutOff("second");
      const share = await cpuShareOver(1500);
      expect(share, `CPU share while cut off (${partition})`).toBeLessThan(0.05);
      expect(lock.state).toBe("suspended");
      proxy.heal();
    }
  });

  // Only on @zk-dist-lock/client: the scenario rests on the order in which that client sets its
  // watches again (the order their paths were first watched); the binding's C client sends them in
  // the order of its hash tables.
  it.skipIf(onBinding)(
    "lists, rather than let a waiter in, at a blocker's deletion heard from the watches set again on reconnecting: its own node's deletion may come after it",
    async () => {
      // Every queue node's path is longer than the 64 KiB Node reads from a socket at once, so that
      // no read holds two of their watch events whole: the callbacks of the read that completes H's
      // event, a grant at it included, all run before W's own event is read. With short paths the
      // two events may share a read (the server writes them together), and the own event's callback
      // then runs before such a grant is done: the test would pass without the guard it tests.
      const rootDir = `${uniqueRoot("reconnect-order")}/${"n".repeat(64 * 1024)}`;
      const h = await startManager(connect, { rootDir });
      managers.push(h);
      const x = await startManager(connect, { rootDir });
      managers.push(x);
      const proxy = await startProxy(connect);
      proxies.push(proxy);
      // A session that outlives the outage by far.
      const w = await startManager(proxy.connectString, { rootDir, sessionTimeoutMs: 20_000 });
      managers.push(w);
      const queueNode = async (at: number) => (await queueNodes(h, resource))[at]!;
      const lockH = h.manager.createLock(resource);
      const lockR = w.manager.createLock(resource, { mode: "shared" });
      const lockW = w.manager.createLock(resource, { mode: "shared" });
      const lockX = x.manager.createLock(resource);

      // H holds; two readers of one manager, R then W, wait for it (a reader waits for the writer
      // ahead, so both for H), and writer X waits behind W.
      await lockH.acquire();
      const reading = (await queueUp(h, resource, lockR, 1)).acquisition;
      reading.catch(() => {});
      const [nH, nR] = [await queueNode(0), await queueNode(1)];
      await expectWatches(connect, w, [nH, nR], "R's watches on H and itself");
      const wFailed = (await queueUp(h, resource, lockW, 2)).acquisition.catch((e: unknown) => e);
      const nW = await queueNode(2);
      // The client lists its watched paths in the order they were first watched: W's own node comes
      // after H's only because R, on the same session, watched H first (R's replies came before
      // W's create's). Alone, W would come first: it reads itself before its blocker.
      await expectWatches(connect, w, [nH, nR, nW], "the watches of R and W on H and on themselves");
      const writing = (await queueUp(h, resource, lockX, 3)).acquisition;
      writing.catch(() => {});
      const nX = await queueNode(3);
      await expectWatches(connect, x, [nW, nH, nX], "X's watches on W, its lookout H, and itself");

      // W's connection drops, its session lives on. Meanwhile an operator deletes W's node (X, which
      // sees it go, waits for R now), then H releases.
      const disconnects = w.client.disconnects;
      proxy.refuse();
      await waitFor(() => w.client.disconnects > disconnects, { message: "W's manager to be cut off" });
      await observer().delete(nW);
      await expectWatches(connect, x, [nR, nH, nX], "X's watches on R, its lookout H, and itself");
      await lockH.release();

      // Back, the client sets its watches again (R's node, H's, W's) and the server fires those of
      // nodes gone in that order, not in the order of the deletions: H's deletion, which W's last
      // listing says is its turn, comes before that of W's node, deleted first. Trusting its own
      // watch, W would hold there without a node (and beside X, once R leaves). It lists instead
      // (its connection dropped since it watched itself), finds its node gone and gives up.
      const listings = countListings(w.client);
      proxy.heal();
      const failure = await wFailed;
      expect(isLockError(failure, "CONNECTION"), `W's acquire: ${String(failure)}`).toBe(true);
      expect(String(failure)).toMatch(/deleted from outside/);
      expect(lockW.state).toBe("idle");
      const tokenR = await reading;
      // R and W both listed: had W heard its own node's deletion first, it would have failed
      // without listing, and this test would not have tried the guard.
      expect(listings.count, "listings of R and W after the reconnect").toBeGreaterThanOrEqual(2);
      expect(eventsNamed(w.events, "acquired").map((e) => e.path)).toEqual([nR]);

      // R's release lets X alone in.
      await lockR.release();
      expect(await writing).toBeGreaterThan(tokenR);
      expect(await childrenOf(observer(), lockX.path)).toEqual([nX.split("/").pop()]);
      await lockX.release();
    },
  );
});
