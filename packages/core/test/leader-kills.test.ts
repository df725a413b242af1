// "The lock persists even if the ZooKeeper leader fails" — again and again: a hold on a 3-member
// ensemble survives repeated leader kills, each after the ensemble re-formed, for a client made as
// the README shows and for a manager from connect(), while a second session keeps waiting.
import { startEnsemble, waitFor, type ZooKeeperEnsemble } from "@zk-dist-lock/testing";
import { afterAll, describe, expect, it } from "vitest";
import ZooKeeper from "zookeeper";
import { type ZkLock, ZkLockManager } from "../src/index.js";
import { closeClients, connectClient, exists, uniqueRoot } from "./support/zk.js";

const KILLS = 5;

describe("repeated leader kills", () => {
  let ensemble: ZooKeeperEnsemble;
  const managers: ZkLockManager[] = [];

  afterAll(async () => {
    await Promise.allSettled(managers.map((manager) => manager.close()));
    closeClients();
    await ensemble?.stop();
  });

  it(`leave a hold held, never lost, its node in place and its waiters waiting, ${KILLS} times in a row`, async () => {
    ensemble = await startEnsemble({ size: 3 });
    const rootDir = uniqueRoot("leader-kills");
    const connect = ensemble.connectString;

    const readmeWay = new ZkLockManager({ rootDir });
    readmeWay.init(new ZooKeeper({ connect, timeout: 4000 }));
    const owning = await ZkLockManager.connect(connect, { sessionTimeout: 4000, rootDir });
    const waiters = await Promise.all([
      ZkLockManager.connect(connect, { rootDir }),
      ZkLockManager.connect(connect, { rootDir }),
    ]);
    managers.push(readmeWay, owning, ...waiters);
    const lost: string[] = [];
    for (const manager of [readmeWay, owning]) manager.on("lost", ({ resource }) => lost.push(resource));

    const holds: [ZkLock, bigint][] = [];
    for (const [manager, resource] of [
      [readmeWay, "readme-way"],
      [owning, "connect"],
    ] as const) {
      const lock = manager.createLock(resource);
      holds.push([lock, await lock.acquire({ timeout: 10_000 })]);
    }
    const waiting = waiters.map((manager, i) => manager.createLock(holds[i]![0].resource).acquire());
    for (const promise of waiting) promise.catch(() => {});
    const observer = await connectClient(connect, 30_000);

    for (let kill = 1; kill <= KILLS; kill++) {
      const leader = await waitFor(() => ensemble.leader(), { timeoutMs: 30_000, message: "a leader" });
      await ensemble.kill(leader);
      await waitFor(
        async () => {
          const current = await ensemble.leader();
          return current !== undefined && current.id !== leader.id;
        },
        { timeoutMs: 30_000, message: `a new leader after kill ${kill}` },
      );
      await ensemble.restart(leader); // resolves once it serves again: the ensemble re-formed
      for (const [lock, token] of holds) {
        await waitFor(() => lock.state === "held", {
          timeoutMs: 20_000,
          message: `"${lock.resource}" held again after kill ${kill}`,
        });
        expect(lock.token).toBe(token);
        // The observer's own client may still be reconnecting: a connection loss means "ask again".
        await waitFor(() => exists(observer, lock.nodePath!), {
          timeoutMs: 20_000,
          message: `the node of "${lock.resource}" after kill ${kill}`,
        });
      }
      expect(lost, `after kill ${kill}`).toEqual([]);
      for (const [i, manager] of waiters.entries()) {
        const { holder, waiters: queued } = await manager.inspect(holds[i]![0].resource, { timeout: 20_000 });
        expect(holder?.node).toBe(holds[i]![0].nodePath!.split("/").pop());
        expect(queued).toHaveLength(1);
      }
    }

    for (const [i, [lock, token]] of holds.entries()) {
      await lock.release();
      expect(await waiting[i]).toBeGreaterThan(token);
    }
  }, 600_000);
});
