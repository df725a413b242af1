// The session's end and what survives it: a manager from connect() opens a new session by itself,
// and a session whose client the binding closed by itself is rejoined with a fresh client.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { closeSync, existsSync, openSync, readdirSync, readlinkSync } from "node:fs";
import { startZooKeeper, waitFor, type ZooKeeperServer } from "@zk-dist-lock/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import ZooKeeper from "zookeeper";
import { type ConnectionStateChange, type LockEvent, LockLostError, ZkLockManager } from "../src/index.js";
import { onBinding } from "./support/kind.js";
import {
  closeClients,
  connectClient,
  connectManager,
  exists,
  killSessionOf,
  startManager,
  type TestManager,
  uniqueRoot,
} from "./support/zk.js";

describe("the end of a session", () => {
  let server: ZooKeeperServer;
  const managers: (ZkLockManager | TestManager)[] = [];

  beforeAll(async () => {
    // tickTime 200 lets the server grant session timeouts from 400 ms.
    server = await startZooKeeper({ tickTime: 200 });
  });
  afterEach(async () => {
    await Promise.allSettled(
      managers.map((m) => (m instanceof ZkLockManager ? m.close() : m.manager.close())),
    );
    managers.length = 0;
    closeClients();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("makes a manager from connect() lose its holds, then serve its waiters and new acquires on a new session", async () => {
    const rootDir = uniqueRoot("recovery");
    const manager = await connectManager(server.connectString, { sessionTimeout: 4000, rootDir });
    managers.push(manager);
    const states: ConnectionStateChange[] = [];
    const lost: (LockEvent & { error: LockLostError })[] = [];
    manager.on("connectionState", (change) => states.push(change));
    manager.on("lost", (event) => lost.push(event));
    const holder = manager.createLock("job");
    const token = await holder.acquire();
    const waiter = manager.createLock("job");
    const waiting = waiter.acquire({ timeout: 30_000 });
    await waitFor(async () => (await manager.inspect("job")).waiters.length === 1, {
      message: "the waiter in the queue",
    });
    const expired = manager.sessionId;
    const killedAt = Date.now();

    await killSessionOf(server.connectString, manager.client);

    // The hold of the expired session is lost...
    await waitFor(() => holder.signal.aborted, { message: "the hold's signal to abort" });
    expect(holder.signal.reason).toBeInstanceOf(LockLostError);
    expect(holder.state).toBe("lost");
    expect(lost).toMatchObject([{ resource: "job", token, error: holder.signal.reason }]);
    // ...its waiter starts again on the new session and gets the lock there...
    const next = await waiting;
    expect(next).toBeGreaterThan(token);
    const renewed = manager.sessionId;
    expect(renewed).not.toBe(expired);
    const { holder: renewedHolder } = await manager.inspect("job");
    expect(renewedHolder?.sessionId).toBe(renewed);
    // Its node says when that node was created, not when the first attempt began.
    expect(Date.parse(renewedHolder!.owner!.since)).toBeGreaterThanOrEqual(killedAt);
    // ...the lost hold's release leaves that node alone...
    await holder.release();
    expect((await manager.inspect("job")).holder?.node).toBe(waiter.nodePath?.split("/").pop());
    // ...and a new acquire works with no action from the user.
    await waiter.release();
    expect(await manager.createLock("job").tryAcquire()).toBeGreaterThan(next);
    const seen = states.map(({ state }) => state);
    expect(seen.slice(seen.indexOf("expired"))).toEqual(["expired", "connecting", "connected"]);
    expect(states.find(({ state }) => state === "expired")).toMatchObject({
      reason: "the ZooKeeper session expired",
      sessionId: expired,
    });
  });

  // The binding's own quirk (it closes a client by itself, as if expired): binding only.
  it.skipIf(!onBinding || !existsSync("/proc/self/fd"))(
    "rejoins the session when the binding closes a client by itself, and the holds stand",
    async () => {
      const rootDir = uniqueRoot("rejoin");
      // Made as the README shows; init() starts it.
      const client = new ZooKeeper({ connect: server.connectString, timeout: 15_000 });
      const closes: unknown[] = [];
      client.on("close", (_client: unknown, code: unknown) => closes.push(code));
      const before = socketDescriptors();
      const manager = new ZkLockManager({ rootDir }).init(client);
      managers.push(manager);
      const lost: unknown[] = [];
      manager.on("lost", (event) => lost.push(event));
      await manager.waitForConnection({ timeout: 10_000 });
      const [socket, ...more] = [...socketDescriptors()].filter(([inode]) => !before.has(inode));
      expect(more).toEqual([]);
      const sessionId = String(client.client_id);
      const lock = manager.createLock("job");
      const token = await lock.acquire();

      // A child process inherits the client's socket (the binding opens it without close-on-exec)
      // and outlives the connection. epoll then keeps reporting the dead socket under its number,
      // which the client's next socket takes when no lower one is free: the binding polls it for
      // nothing, ten times, and closes the client with -112 although the server keeps the session.
      const placeholders = fillDescriptorsBelow(socket![1]);
      const child = spawn("sleep", ["60"], { stdio: "ignore" });
      await once(child, "spawn");
      try {
        const restarted = server.restart();
        await waitFor(() => closes.length > 0, { message: "the binding to close the client" });
        expect(closes).toEqual([-112]);
        expect(lock.state).toBe("suspended");
        child.kill();
        await once(child, "exit");
        await restarted;
      } finally {
        child.kill();
        for (const fd of placeholders) closeSync(fd);
      }

      await waitFor(() => lock.state === "held", { timeoutMs: 15_000, message: "the hold to stand again" });
      expect(manager.connectionState).toBe("connected");
      expect(manager.client).not.toBe(client);
      expect(manager.sessionId).toBe(sessionId);
      expect(lost).toEqual([]);
      expect(lock.token).toBe(token);
      const observer = await connectClient(server.connectString);
      expect(await exists(observer, lock.nodePath!)).toBe(true);
      const other = await startManager(server.connectString, { rootDir });
      managers.push(other);
      expect(await other.manager.createLock("job").tryAcquire()).toBeUndefined();
      await lock.release();
      expect(await other.manager.createLock("job").tryAcquire()).toBeGreaterThan(token);
    },
  );
});

/** This process's open sockets: `socket:[inode]` → descriptor number. */
function socketDescriptors(): Map<string, number> {
  const sockets = new Map<string, number>();
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith("socket:")) sockets.set(target, Number(fd));
    } catch {
      // closed meanwhile
    }
  }
  return sockets;
}

/** Opens /dev/null until every descriptor number below `fd` is taken; returns what it opened. */
function fillDescriptorsBelow(fd: number): number[] {
  const opened: number[] = [];
  for (;;) {
    const next = openSync("/dev/null", "r");
    if (next > fd) {
      closeSync(next);
      return opened;
    }
    opened.push(next);
  }
}
