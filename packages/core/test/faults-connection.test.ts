// Connection losses at the worst moments, made by a TCP proxy between the client and the shared
// server: a create whose reply is lost, and giving up (timeout, abort) while disconnected.
import { startProxy, waitFor, type ZooKeeperProxy } from "@zk-dist-lock/testing";
import { describe, expect, inject, it } from "vitest";
import { isLockError, LockLostError, Perms } from "../src/index.js";
import {
  childrenOf,
  eventsNamed,
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
});
