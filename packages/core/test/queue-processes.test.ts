// Shared locks and semaphores between OS processes, each process with several sessions, waits
// that time out or are aborted, and processes killed with SIGKILL while they hold. Witnesses on
// each holder's own session (see support/queue-worker.ts) count the holders and the nodes ahead at
// every grant; grants carry their node's creation zxid and their token, ZooKeeper's own order.
import { waitFor } from "@zk-dist-lock/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { type Child, startChild } from "./support/child.js";
import { childrenOf, closeClients, startManager, type TestManager, uniqueRoot } from "./support/zk.js";

const connect = inject("zkConnect");
const PROCESSES = 4;
const resource = "quota";

/** A grant as a worker printed it. */
interface Grant {
  mode: string;
  /** The exclusive holders and the others (shared, semaphore) the witness saw, this one included. */
  exclusive: number;
  others: number;
  /** The zxid that created the node: the queue's order. */
  czxid: bigint;
  token: bigint;
  /** The creation zxid of the witness node the holder made right after its grant: a zxid of the hold. */
  witnessed: bigint;
}

/** The complete lines that `of` printed so far. */
const linesOf = (of: readonly Child[]) => of.flatMap((w) => w.output.split("\n").slice(0, -1));

/** The grants that `of` printed so far. */
function grantsOf(of: readonly Child[]): Grant[] {
  return linesOf(of)
    .filter((l) => l.startsWith("grant "))
    .map((l) => {
      const [, mode, exclusive, others, czxid, token, witnessed] = l.split(" ");
      return {
        mode: mode!,
        exclusive: Number(exclusive),
        others: Number(others),
        czxid: BigInt(czxid!),
        token: BigInt(token!),
        witnessed: BigInt(witnessed!),
      };
    });
}

/**
 * How many readers queued behind a writer that was waiting (or had just been granted): the
 * reader's node was created after the writer's and before the witness node the writer made at its
 * grant. The writer's token cannot tell: one granted with nodes behind it is its own node's czxid.
 */
function readersBehindWaitingWriters(grants: readonly Grant[]): number {
  const writers = grants.filter((g) => g.mode === "exclusive");
  return grants.filter(
    (r) => r.mode === "shared" && writers.some((w) => w.czxid < r.czxid && r.czxid < w.witnessed),
  ).length;
}

describe("processes contending for one resource, several sessions each", () => {
  const workers: Child[] = [];
  const observers: TestManager[] = [];

  afterEach(async () => {
    for (const { child } of workers)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    workers.length = 0;
    await Promise.allSettled(observers.map(({ manager }) => manager.close()));
    observers.length = 0;
    closeClients();
  });

  /**
   * Starts the workers, lets them go together once all are connected, and returns an observer. The
   * first `killable` workers get short sessions, so that a kill frees their nodes soon; the others
   * long ones, so that a stall of this loaded machine does not drop their connections.
   */
  async function run(how: string, sessionsEach: number, killable = 0) {
    const rootDir = uniqueRoot("processes");
    const witnessDir = `${rootDir}-witness`;
    const observer = await startManager(connect, { rootDir });
    observers.push(observer);
    expect(await observer.client.createRc(witnessDir)).toBe(0);
    for (let id = 0; id < PROCESSES; id++) {
      workers.push(
        startChild("queue-worker.ts", [
          connect,
          rootDir,
          resource,
          witnessDir,
          how,
          String(sessionsEach),
          String(id),
          String(id < killable ? 2000 : 10_000),
        ]),
      );
    }
    await waitFor(() => workers.every((w) => w.output.includes("ready")), {
      timeoutMs: 60_000,
      message: "every worker connected",
    });
    for (const { child } of workers) child.stdin?.write("go\n");
    return { observer, dir: `${rootDir}/${resource}`, witnessDir };
  }

  /** Stops `of` after their current turns; every turn ends: no waiter is left waiting for ever. */
  async function stop(of: readonly Child[]) {
    for (const { child } of of) child.stdin?.end("stop\n");
    await waitFor(() => of.every(({ child }) => child.exitCode !== null || child.signalCode !== null), {
      timeoutMs: 20_000,
      message: "every turn to end (a waiter still waits)",
    });
    expect(
      of.map(({ child }) => child.exitCode),
      outputs(),
    ).toEqual(of.map(() => 0));
  }

  /** What the workers printed so far: violations, the waits that gave up, and the sessions that ended. */
  function report(of: readonly Child[]) {
    const lines = linesOf(of);
    return {
      violations: lines.filter((l) => l.startsWith("violation")),
      sessionsDone: lines.filter((l) => l === "done").length,
      timeouts: lines.filter((l) => l === "gave up TIMEOUT").length,
      aborts: lines.filter((l) => l === "gave up ABORTED").length,
    };
  }

  /** Once every session that held has ended (killed ones at their expiry), nothing is left. */
  async function nothingLeft(observer: TestManager, dir: string, witnessDir: string) {
    await waitFor(async () => (await childrenOf(observer.client, dir)).length === 0, {
      timeoutMs: 15_000,
      message: "an empty queue",
    });
    expect(await childrenOf(observer.client, witnessDir)).toEqual([]);
    await observer.client.delete(witnessDir);
  }

  const outputs = () => workers.map((w, id) => `worker ${id}:\n${w.output}`).join("\n");

  it("readers overlap, a writer never overlaps anyone, and turns come in queue order: no reader passes a waiting writer", async () => {
    const { observer, dir, witnessDir } = await run("mixed", 3);
    await waitFor(
      () => {
        const grants = grantsOf(workers);
        const { timeouts, aborts } = report(workers);
        return (
          grants.filter((g) => g.mode === "exclusive").length >= 15 &&
          readersBehindWaitingWriters(grants) >= 5 &&
          Math.max(...grants.filter((g) => g.mode === "shared").map((g) => g.others)) > 1 &&
          timeouts + aborts > 0
        );
      },
      {
        timeoutMs: 30_000,
        message:
          "writers granted, with readers queued behind them while they waited, readers together, and a wait given up",
      },
    );
    await stop(workers);

    const { violations, sessionsDone } = report(workers);
    expect(violations, outputs()).toEqual([]);
    expect(sessionsDone).toBe(PROCESSES * 3);
    const grants = grantsOf(workers);
    const exclusive = grants.filter((g) => g.mode === "exclusive");
    const shared = grants.filter((g) => g.mode === "shared");
    // A writer saw only itself; readers saw no writer (and, as waited for above, some held together).
    expect(exclusive.every((g) => g.exclusive === 1 && g.others === 0)).toBe(true);
    expect(shared.every((g) => g.exclusive === 0)).toBe(true);

    // In queue order (creation zxid), a writer's grant comes after the grant of every node ahead of
    // it and before that of every node behind it: readers that queued behind a waiting writer got
    // in after it. (Readers among themselves may be granted in any order.)
    const order = [...grants].sort((a, b) => (a.czxid < b.czxid ? -1 : 1));
    const outOfOrder = order.flatMap((w, i) =>
      w.mode !== "exclusive"
        ? []
        : [
            ...order.slice(0, i).filter((ahead) => ahead.token >= w.token),
            ...order.slice(i + 1).filter((behind) => behind.token <= w.token),
          ].map(
            (other) =>
              `${other.mode} ${other.czxid} granted at ${other.token}, writer ${w.czxid} at ${w.token}`,
          ),
    );
    expect(outOfOrder).toEqual([]);
    await nothingLeft(observer, dir, witnessDir);
  }, 120_000);

  it("a semaphore of 3 never has a 4th holder among 20 sessions, and a killed process's permits come back", async () => {
    const { observer, dir, witnessDir } = await run("semaphore:3", 5, 2);
    const victims = workers.slice(0, 2);
    for (const [n, victim] of victims.entries()) {
      // The victim keeps every permit its sessions get from now on: only its sessions' end frees them.
      victim.child.stdin?.write("hold\n");
      await waitFor(() => victim.output.includes("holding"), {
        timeoutMs: 20_000,
        message: `victim ${n} holding`,
      });
      victim.child.kill("SIGKILL");
      const sessions = linesOf([victim])
        .filter((l) => l.startsWith("session "))
        .map((l) => l.slice("session ".length));
      await waitFor(
        async () => {
          const { holders, waiters } = await observer.manager.inspect(resource);
          return [...holders, ...waiters].every((p) => !sessions.includes(p.sessionId));
        },
        { timeoutMs: 15_000, message: `victim ${n}'s sessions to expire` },
      );
      // A zxid after the victim's sessions ended: the token of a lock taken once they are gone.
      const mark = observer.manager.createLock(`victim-${n}-gone`);
      const ended = await mark.acquire();
      await mark.release();
      // All 3 permits in use again, by survivors: whatever the victim held has come back.
      const survivors = workers.filter((w) => !victims.slice(0, n + 1).includes(w));
      await waitFor(() => grantsOf(survivors).some((g) => g.token > ended && g.others === 3), {
        timeoutMs: 15_000,
        message: `3 holders at once after victim ${n}'s sessions ended`,
      });
    }
    const survivors = workers.slice(victims.length);
    // Turns draw their timeouts and aborts at random: go on until both kinds have given up a wait.
    await waitFor(
      () => {
        const { timeouts, aborts } = report(workers);
        return timeouts > 0 && aborts > 0;
      },
      { timeoutMs: 30_000, message: "a wait that timed out and one that was aborted" },
    );
    await stop(survivors);

    const { violations, sessionsDone } = report(workers);
    expect(violations, outputs()).toEqual([]);
    expect(sessionsDone).toBe(survivors.length * 5);
    expect(Math.max(...grantsOf(workers).map((g) => g.others))).toBe(3);
    await nothingLeft(observer, dir, witnessDir);
  }, 120_000);
});
