import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import ZooKeeper from "zookeeper";
import { fourLetter, startEnsemble, waitFor } from "../src/index.js";
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
