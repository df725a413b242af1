import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import ZooKeeper from "zookeeper";
import { type EnsembleMember, fourLetter, startEnsemble, waitFor } from "../src/index.js";
import { connectClient, isAlive } from "./helpers.js";

describe("startEnsemble", () => {
  it("elects a new leader when the leader dies, and clients keep working", async () => {
    const ensemble = await startEnsemble({ size: 3, tickTime: 200 });
    const pids = ensemble.members.map((member) => member.pid!);
    let client: ZooKeeper | undefined;
    try {
      expect(ensemble.members.map((member) => member.id)).toEqual([1, 2, 3]);
      expect(new Set(ensemble.members.map((member) => member.port)).size).toBe(3);
      expect(ensemble.connectString).toBe(ensemble.members.map((member) => member.connectString).join(","));
      for (const member of ensemble.members) {
        expect(member.running).toBe(true);
        expect(await fourLetter(member.host, member.port, "srvr")).toMatch(/^Mode: (leader|follower)$/m);
      }

      client = await connectClient(ensemble.connectString);
      await client.create("/before", "1", ZooKeeper.constants.ZOO_PERSISTENT);

      const leader = await waitFor(() => ensemble.leader(), { timeoutMs: 30_000, message: "a leader" });
      await ensemble.kill(leader);
      expect(leader.running).toBe(false);
      expect(isAlive(leader.pid)).toBe(false);

      const next = await waitFor(
        async () => {
          const current = await ensemble.leader();
          return current !== undefined && current.id !== leader.id && current;
        },
        { timeoutMs: 30_000, message: "a new leader" },
      );
      expect(next.id).not.toBe(leader.id);
      expect(next.running).toBe(true);

      // The same client, on the same connect string, reconnects to a survivor if it has to.
      const created = await waitFor(() => client!.create("/after", "2", ZooKeeper.constants.ZOO_PERSISTENT), {
        timeoutMs: 30_000,
        message: "a write after the failover",
      });
      expect(created).toBe("/after");
      const [, before] = await client.get("/before", false);
      expect(String(before)).toBe("1");

      await ensemble.restart(leader);
      expect(leader.running).toBe(true);
      pids.push(leader.pid!);
      expect(await fourLetter(leader.host, leader.port, "srvr")).toMatch(/^Mode: (leader|follower)$/m);
      await expect(ensemble.kill(7)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    } finally {
      client?.close();
      await ensemble.stop();
    }
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    for (const member of ensemble.members) expect(existsSync(member.dir)).toBe(false);
  });
});

describe("a lagging member", () => {
  it("serves an older state until a sync, while its sessions go on", async () => {
    await using ensemble = await startEnsemble({ laggable: true });
    const leader = await waitFor(() => ensemble.leader(), { timeoutMs: 30_000, message: "a leader" });
    const [lagging, other] = ensemble.members.filter((member) => member !== leader) as [
      EnsembleMember,
      EnsembleMember,
    ];
    // The leader's configuration did not replace the lagging member's: it still reaches the
    // others' peer ports through its forwarder, not where their own configurations say.
    const conf = await fourLetter(lagging.host, lagging.port, "conf");
    const ownView = readFileSync(join(lagging.dir, "zoo.cfg"), "utf8").match(/^server\.\d+=.*$/gm)!;
    const othersView = readFileSync(join(other.dir, "zoo.cfg"), "utf8");
    expect(othersView).not.toContain(ownView[leader.id - 1]);
    for (const line of ownView) expect(conf).toContain(line);

    const writer = await connectClient(other.connectString);
    const reader = await connectClient(lagging.connectString);
    try {
      await ensemble.lag(lagging, 3000);
      await writer.create("/lagged", "1", ZooKeeper.constants.ZOO_PERSISTENT);
      // Acknowledged through the quorum, and not yet on the lagging member.
      expect(await writer.pathExists("/lagged", false)).toBe(true);
      expect(await reader.pathExists("/lagged", false)).toBe(false);
      // A sync queues behind the write held back, and the read after it sees the write.
      await reader.sync("/lagged");
      expect(await reader.pathExists("/lagged", false)).toBe(true);
      await ensemble.lag(lagging, 0);
      await writer.create("/caught-up", "1", ZooKeeper.constants.ZOO_PERSISTENT);
      await waitFor(() => reader.pathExists("/caught-up", false), {
        timeoutMs: 10_000,
        message: "the lagging member caught up once its lag was ended",
      });

      await expect(ensemble.lag(leader, 1000)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(ensemble.lag(lagging, 10_000)).rejects.toThrow(
        /below min\(syncLimit, initLimit\) × tickTime \(10000 ms\)/,
      );
    } finally {
      writer.close();
      reader.close();
    }
  });

  it("needs an ensemble started laggable", async () => {
    await using ensemble = await startEnsemble({ size: 1 });
    await expect(ensemble.lag(0, 100)).rejects.toThrow(/laggable: true/);
  });
});
