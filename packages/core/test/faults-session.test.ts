// Holds across connection trouble on a server of our own: the session expires, the client is cut
// off for longer than the session timeout, and a short disconnect within the session.
import { startZooKeeper, waitFor, type ZooKeeperServer } from "@zk-dist-lock/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isLockError, LockLostError } from "../src/index.js";
import { onBinding } from "./support/kind.js";
import {
  childrenOf,
  closeClients,
  connectClient,
  eventsNamed,
  killSession,
  startManager,
  type TestManager,
  uniqueRoot,
} from "./support/zk.js";

const resource = "job";

describe("session faults", () => {
  let server: ZooKeeperServer;
  const managers: TestManager[] = [];

  beforeAll(async () => {
    // tickTime 200 lets the server grant session timeouts from 400 ms. A start or restart that does
    // not serve within 20 s fails saying so, with the server's log.
    server = await startZooKeeper({ tickTime: 200, startTimeoutMs: 20_000 });
  });

  afterEach(async () => {
    if (server.paused) server.resume();
    await Promise.allSettled(managers.map(({ manager }) => manager.close()));
    managers.length = 0;
    closeClients();
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function manager(rootDir: string, sessionTimeoutMs: number): Promise<TestManager> {
    const started = await startManager(server.connectString, { rootDir, sessionTimeoutMs });
    managers.push(started);
    return started;
  }

  it("on session expiry aborts the hold, fails its waiters, and its release spares the next holder", async () => {
    const rootDir = uniqueRoot("expiry");
    const zombie = await manager(rootDir, 4000);
    const lock = zombie.manager.createLock(resource);
    const token = await lock.acquire();
    const waiter = zombie.manager.createLock(resource);
    const waiting = waiter.acquire();
    waiting.catch(() => {});
    await waitFor(async () => (await zombie.manager.inspect(resource)).waiters.length === 1, {
      message: "the waiter in the queue",
    });

    await killSession(server.connectString, zombie.client);

    await waitFor(() => lock.signal.aborted, { message: "the hold's signal to abort" });
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(isLockError(lock.signal.reason, "LOST")).toBe(true);
    expect(lock.state).toBe("lost");
    expect(lock.isHeld).toBe(false);
    const [lost, ...moreLost] = eventsNamed(zombie.events, "lost");
    expect(moreLost).toEqual([]);
    expect(lost).toMatchObject({ resource, token, error: lock.signal.reason });
    expect(zombie.client.closedWith).toBe(-112); // ZSESSIONEXPIRED: the client heard of it
    await expect(lock.acquire()).rejects.toSatisfy((error) => isLockError(error, "LOST"));
    const failure = await waiting.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isLockError(failure, "CONNECTION"), String(failure)).toBe(true);
    expect(String((failure as Error).message)).toMatch(/expired/);
    expect(failure).toMatchObject({ resource });
    // Its client came through init(): the manager cannot open a new session, and says what to do.
    expect(String((failure as Error).message)).toMatch(/create a new client and call init\(\) with it/);
    expect(zombie.manager.connectionState).toBe("expired");

    // Someone else takes the lock; the zombie's release must not delete that node.
    const next = await manager(rootDir, 4000);
    const nextLock = next.manager.createLock(resource);
    expect(await nextLock.acquire()).toBeGreaterThan(token);
    await lock.release();
    const inspection = await next.manager.inspect(resource);
    expect(inspection.holder?.sessionId).toBe(next.client.sessionId);
    expect(inspection.holder?.node).toBe(nextLock.nodePath?.split("/").pop());
    expect(inspection.waiters).toEqual([]);
    expect(eventsNamed(zombie.events, "cleanupFailed")).toEqual([]);
    // The hold ended with its loss: the release after it is no second ending.
    expect(eventsNamed(zombie.events, "released")).toEqual([]);
    expect(lock.signal.reason).toBe(lost!.error);
    await nextLock.release();
  });

  it("loses a hold once cut off for the session timeout, without hearing from the server", async () => {
    const rootDir = uniqueRoot("cut-off");
    const holder = await manager(rootDir, 2000);
    const lock = holder.manager.createLock(resource);
    await lock.acquire();
    const seen: string[] = [];
    holder.manager.on("suspended", () => seen.push(`suspended:${lock.state}:${lock.signal.aborted}`));
    holder.manager.on("lost", () => seen.push(`lost:${lock.state}:${holder.client.closedWith}`));

    server.pause();
    await waitFor(() => lock.signal.aborted, { timeoutMs: 20_000, message: "the hold to be lost" });
    // Suspended first (the hold stood), then lost while the server was still frozen and the client
    // had neither reconnected nor heard of any expiry from it: the binding's client is still trying,
    // @zk-dist-lock/client has counted the session expired itself (4/3 of the timeout unheard).
    expect(seen).toEqual(["suspended:suspended:false", `lost:lost:${onBinding ? undefined : -112}`]);
    // The state says the session is over on both clients, with the server still frozen.
    await waitFor(() => holder.manager.connectionState === "expired", { message: "the state expired" });
    expect(server.paused).toBe(true);
    expect(holder.client.connects).toBe(1);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(eventsNamed(holder.events, "lost")[0]?.error.message).toMatch(
      /no connection for the session timeout/,
    );
    await expect(lock.acquire()).rejects.toSatisfy((error) => isLockError(error, "LOST"));
    await lock.release();

    // Once the server runs again the node goes: deleted by us if the session survived, else expired.
    server.resume();
    const observer = await connectClient(server.connectString);
    await waitFor(async () => (await childrenOf(observer, `${rootDir}/${resource}`)).length === 0, {
      timeoutMs: 20_000,
      message: "the lost hold's node to go",
    });
  });

  // The session timeout leaves room for the restart: under load (two cores busy, core's suite
  // alongside) the new JVM took 11 s before it even listened, and a 15 s session did not survive
  // that and the attempt it then left unanswered. The test's timeout covers its steps' bounds, so
  // a step that stalls fails with its own message.
  it("keeps a hold and a waiter through a server restart within the session timeout", async () => {
    const rootDir = uniqueRoot("restart");
    const holder = await manager(rootDir, 30_000);
    const other = await manager(rootDir, 30_000);
    const lock = holder.manager.createLock(resource);
    const token = await lock.acquire({ timeout: 10_000 });
    const waiter = other.manager.createLock(resource);
    const waiting = waiter.acquire();
    await waitFor(async () => (await holder.manager.inspect(resource)).waiters.length === 1, {
      message: "the waiter in the queue",
    });

    await server.restart();
    // Each rejects saying what the client last heard (refused, closed, or no handshake answer) if its
    // session is not back once an attempt the server leaves unanswered (a third of the session
    // timeout) and the next have had their time, well before the session would expire.
    await holder.manager.waitForConnection({ timeout: 15_000 });
    await other.manager.waitForConnection({ timeout: 15_000 });
    expect(holder.events.map((e) => e.name)).toEqual(["acquired", "suspended", "reconnected"]);
    expect(lock.state).toBe("held");
    expect(lock.signal.aborted).toBe(false);
    expect(lock.token).toBe(token);
    expect(holder.client.closedWith).toBeUndefined();
    expect(await lock.acquire()).toBe(token); // still re-entrant
    await lock.release();

    // The waiter is still queued behind the same holder, and gets the lock when it is released.
    const inspection = await other.manager.inspect(resource, { timeout: 10_000 });
    expect(inspection.holder?.sessionId).toBe(holder.client.sessionId);
    expect(inspection.waiters.map((w) => w.sessionId)).toEqual([other.client.sessionId]);
    expect(eventsNamed(other.events, "acquired")).toEqual([]);
    await lock.release();
    // The waiter hears of the release through the watch its client restored after the restart.
    await waitFor(() => waiter.state === "held", {
      message: "the waiter to get the lock once released (its watch restored after the restart)",
    });
    expect(await waiting).toBeGreaterThan(token);
    await waiter.release();
  }, 60_000);
});
