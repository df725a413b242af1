// Fencing tokens strictly increase for successive holders of a resource, also when its directory
// was reaped and recreated, across a server restart, and across a leader failover.
import {
  startEnsemble,
  startZooKeeper,
  waitFor,
  type ZooKeeperEnsemble,
  type ZooKeeperServer,
} from "@zk-dist-lock/testing";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  closeClients,
  connectClient,
  exists,
  startManager,
  type TestManager,
  uniqueRoot,
} from "./support/zk.js";

const resource = "ledger";

/** Acquires and releases `resource` once, returning the token. */
async function holdOnce({ manager }: TestManager): Promise<bigint> {
  const lock = manager.createLock(resource);
  const token = await lock.acquire({ timeout: 30_000 });
  await lock.release();
  return token;
}

describe("fencing tokens", () => {
  const managers: TestManager[] = [];

  afterEach(async () => {
    await Promise.allSettled(managers.map(({ manager }) => manager.close()));
    managers.length = 0;
    closeClients();
  });

  async function manager(connect: string, rootDir: string): Promise<TestManager> {
    // Long enough for the session to outlive a restart or an election, and no longer: the C client
    // gives a connection attempt that a starting server leaves unanswered a third of it.
    const started = await startManager(connect, { rootDir, sessionTimeoutMs: 15_000 });
    managers.push(started);
    return started;
  }

  describe("on a standalone server", () => {
    let server: ZooKeeperServer;
    afterAll(async () => {
      await server?.stop();
    });

    it("increase after the resource directory was reaped and recreated", async () => {
      server = await startZooKeeper({ containerCheckIntervalMs: 100 });
      const rootDir = uniqueRoot("reaped");
      const contender = await manager(server.connectString, rootDir);
      const observer = await connectClient(server.connectString);
      const first = await holdOnce(contender);
      // The empty container goes away; the manager still believes it exists and must recover.
      await waitFor(async () => !(await exists(observer, `${rootDir}/${resource}`)), {
        timeoutMs: 20_000,
        message: "the empty resource directory to be reaped",
      });
      const second = await holdOnce(contender);
      expect(second).toBeGreaterThan(first);
      // A holder on another session sees a larger token still.
      const other = await manager(server.connectString, rootDir);
      expect(await holdOnce(other)).toBeGreaterThan(second);
    });

    it("increase across a server restart", async () => {
      const rootDir = uniqueRoot("restart");
      const contender = await manager(server.connectString, rootDir);
      const before = await holdOnce(contender);
      await server.restart();
      // The same session reconnects; a fresh one works too.
      const after = await holdOnce(contender);
      expect(after).toBeGreaterThan(before);
      expect(contender.client.closedWith).toBeUndefined();
      const fresh = await manager(server.connectString, rootDir);
      expect(await holdOnce(fresh)).toBeGreaterThan(after);
    });
  });

  describe("on an ensemble", () => {
    let ensemble: ZooKeeperEnsemble;
    afterAll(async () => {
      await ensemble?.stop();
    });

    it("increase across a leader failover", async () => {
      ensemble = await startEnsemble({ size: 3 });
      const rootDir = uniqueRoot("failover");
      const contender = await manager(ensemble.connectString, rootDir);
      const before = await holdOnce(contender);
      const leader = await waitFor(() => ensemble.leader(), { timeoutMs: 30_000, message: "a leader" });
      await ensemble.kill(leader);
      await waitFor(
        async () => {
          const current = await ensemble.leader();
          return current !== undefined && current.id !== leader.id;
        },
        { timeoutMs: 60_000, message: "a new leader" },
      );
      const after = await holdOnce(contender);
      expect(after).toBeGreaterThan(before);
      const fresh = await manager(ensemble.connectString, rootDir);
      expect(await holdOnce(fresh)).toBeGreaterThan(after);
    }, 120_000);
  });
});
