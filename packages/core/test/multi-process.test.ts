// Mutual exclusion between OS processes, each with its own ZooKeeper session, checked by a witness
// outside ZooKeeper: an exclusive-create marker file and an append-only log.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { type Child, startChild } from "./support/child.js";
import { childrenOf, closeClients, connectClient, uniqueRoot } from "./support/zk.js";

const connect = inject("zkConnect");

const WORKERS = 4;
const ITERATIONS = 15;

describe("processes contending for one resource", () => {
  const workers: Child[] = [];
  const witnessDir = mkdtempSync(join(tmpdir(), "zk-lock-witness-"));

  afterAll(() => {
    for (const { child } of workers) if (child.exitCode === null && child.pid) process.kill(child.pid);
    rmSync(witnessDir, { recursive: true, force: true });
    closeClients();
  });

  it("never overlap, and each makes progress", async () => {
    const rootDir = uniqueRoot("processes");
    for (let id = 0; id < WORKERS; id++) {
      workers.push(
        startChild("mutex-worker.ts", [
          connect,
          rootDir,
          "shared",
          witnessDir,
          String(ITERATIONS),
          String(id),
        ]),
      );
    }
    await waitFor(() => workers.every((w) => w.output.includes("ready")), {
      timeoutMs: 60_000,
      message: "every worker connected",
    });
    for (const { child } of workers) child.stdin?.end("go\n");
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, workers.map((w, id) => `worker ${id}:\n${w.output}`).join("\n")).toEqual(
      workers.map(() => 0),
    );

    // The log alternates enter/leave of one worker at a time, with a larger token for each entry.
    const records = readFileSync(join(witnessDir, "log"), "utf8")
      .trim()
      .split("\n")
      .map((line) => {
        const [id, token, what] = line.split(" ");
        return { id: Number(id), token: BigInt(token!), what };
      });
    expect(records).toHaveLength(2 * WORKERS * ITERATIONS);
    const entries = new Map<number, number>();
    for (let i = 0; i < records.length; i += 2) {
      const enter = records[i]!;
      const leave = records[i + 1]!;
      expect(enter.what).toBe("enter");
      expect(leave).toEqual({ ...enter, what: "leave" });
      if (i > 0) expect(enter.token).toBeGreaterThan(records[i - 2]!.token);
      entries.set(enter.id, (entries.get(enter.id) ?? 0) + 1);
    }
    expect([...entries.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const count of entries.values()) expect(count).toBe(ITERATIONS);

    // Every process took its turns interleaved with the others, not one after another.
    const switches = records.filter((r, i) => i >= 2 && r.what === "enter" && r.id !== records[i - 2]!.id);
    expect(switches.length).toBeGreaterThanOrEqual(WORKERS);

    // Nothing left behind: the resource directory has no lock nodes.
    const observer = await connectClient(connect);
    expect(await childrenOf(observer, `${rootDir}/shared`)).toEqual([]);
  }, 120_000);
});
