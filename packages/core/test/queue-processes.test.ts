// Shared locks and semaphores between OS processes, each process with several sessions, waits
// that time out or are aborted, and a process killed with SIGKILL while it holds. A witness on each
// holder's own session (see support/queue-worker.ts) counts the holders at every grant.
import { waitFor } from "@zk-dist-lock/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { type Child, startChild } from "./support/child.js";
import { childrenOf, closeClients, connectClient, type TestClient, uniqueRoot } from "./support/zk.js";

const connect = inject("zkConnect");
const PROCESSES = 4;
const DURATION_MS = 3000;
const resource = "quota";

describe("processes contending for one resource, several sessions each", () => {
  const workers: Child[] = [];

  afterEach(() => {
    for (const { child } of workers)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    workers.length = 0;
    closeClients();
  });

  /** Starts the workers, lets them go together once all are connected, and returns the witness's client. */
  async function run(how: string, sessionsEach: number) {
    const rootDir = uniqueRoot("processes");
    const witnessDir = `${rootDir}-witness`;
    const observer = await connectClient(connect);
    expect(await observer.createRc(witnessDir)).toBe(0);
    for (let id = 0; id < PROCESSES; id++) {
      workers.push(
        startChild("queue-worker.ts", [
          connect,
          rootDir,
          resource,
          witnessDir,
          how,
          String(sessionsEach),
          String(DURATION_MS),
          String(id),
        ]),
      );
    }
    await waitFor(() => workers.every((w) => w.output.includes("ready")), {
      timeoutMs: 60_000,
      message: "every worker connected",
    });
    for (const { child } of workers) child.stdin?.end("go\n");
    return { observer, dir: `${rootDir}/${resource}`, witnessDir };
  }

  /** What the workers printed: their grants (mode and the holders each saw), tallies, violations. */
  function report(of: readonly Child[]) {
    const lines = of.flatMap((w) => w.output.split("\n"));
    const grants = lines
      .filter((l) => l.startsWith("grant "))
      .map((l) => {
        const [, mode, exclusive, others] = l.split(" ");
        return { mode: mode!, exclusive: Number(exclusive), others: Number(others) };
      });
    const totals = lines
      .filter((l) => l.startsWith("done "))
      .map((l) => l.split(" ").slice(1).map(Number) as [number, number, number]);
    return {
      grants,
      violations: lines.filter((l) => l.startsWith("violation")),
      sessionsDone: totals.length,
      timeouts: totals.reduce((sum, [, t]) => sum + t, 0),
      aborts: totals.reduce((sum, [, , a]) => sum + a, 0),
    };
  }

  /** Once every session that held has ended (killed ones at their expiry), nothing is left. */
  async function nothingLeft(observer: TestClient, dir: string, witnessDir: string) {
    await waitFor(async () => (await childrenOf(observer, dir)).length === 0, {
      timeoutMs: 15_000,
      message: "an empty queue",
    });
    expect(await childrenOf(observer, witnessDir)).toEqual([]);
    await observer.delete(witnessDir);
  }

  const outputs = () => workers.map((w, id) => `worker ${id}:\n${w.output}`).join("\n");

  it("readers overlap, a writer never overlaps anyone, and writers get their turns", async () => {
    const { observer, dir, witnessDir } = await run("mixed", 3);
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes, outputs()).toEqual(workers.map(() => 0));

    const { grants, violations, sessionsDone, timeouts, aborts } = report(workers);
    expect(violations, outputs()).toEqual([]);
    expect(sessionsDone).toBe(PROCESSES * 3);
    const exclusive = grants.filter((g) => g.mode === "exclusive");
    const shared = grants.filter((g) => g.mode === "shared");
    // A writer saw only itself; readers saw no writer, and some saw other readers holding with them.
    expect(exclusive.length).toBeGreaterThan(0);
    expect(exclusive.every((g) => g.exclusive === 1 && g.others === 0)).toBe(true);
    expect(shared.every((g) => g.exclusive === 0)).toBe(true);
    expect(Math.max(...shared.map((g) => g.others))).toBeGreaterThan(1);
    expect(timeouts + aborts).toBeGreaterThan(0);
    await nothingLeft(observer, dir, witnessDir);
  }, 120_000);

  it("a semaphore of 3 never has a 4th holder among 20 sessions, with timeouts, aborts and a SIGKILL", async () => {
    const { observer, dir, witnessDir } = await run("semaphore:3", 5);
    // Kill a process that holds permits (or waits for them): its sessions' nodes stay until they expire.
    const [victim, ...survivors] = workers as [Child, ...Child[]];
    await waitFor(() => victim.output.includes("grant "), {
      timeoutMs: 20_000,
      message: "the victim holding",
    });
    victim.child.kill("SIGKILL");
    const codes = await Promise.all(survivors.map((w) => w.exited));
    expect(codes, outputs()).toEqual(survivors.map(() => 0));

    const { grants, violations, sessionsDone, timeouts, aborts } = report(workers);
    expect(violations, outputs()).toEqual([]);
    expect(sessionsDone).toBe((PROCESSES - 1) * 5);
    const seen = grants.map((g) => g.others);
    expect(Math.max(...seen)).toBe(3);
    expect(timeouts).toBeGreaterThan(0);
    expect(aborts).toBeGreaterThan(0);
    // The survivors went on after the kill: grants came after the victim's permits were given back.
    expect(report(survivors).grants.length).toBeGreaterThan(report([victim]).grants.length);
    await nothingLeft(observer, dir, witnessDir);
  }, 120_000);
});
