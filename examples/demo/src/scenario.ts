// The demo's story: workers take turns on the lock; one is frozen while it holds it, its session
// expires, another worker takes over with a higher token, and the frozen one wakes up to write with
// its stale token. The store decides what happens to that write.
import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { Report, WorkerConfig } from "./protocol.js";
import { CounterStore } from "./store.js";
import { seconds, Timeline, workerList } from "./timeline.js";
import { type Entry, ReportLog, WorkerProcess } from "./worker-pool.js";

/** What `runDemo` needs; `out` receives every line of the timeline. */
export interface DemoSettings {
  connect: string;
  workers: number;
  durationMs: number;
  sessionTimeoutMs: number;
  fenced: boolean;
  /** The SQLite file to create; its directory must exist. */
  dbFile: string;
  out: (line: string) => void;
}

/** The stale write of the frozen worker, as the store answered it. */
export interface ZombieWrite {
  worker: number;
  token: bigint;
  value: number;
  applied: boolean;
  /** The row the write ran into: the newer holder's value and token. */
  before: { value: number; fence: bigint };
  signalAborted: boolean;
}

/** The counts of a finished run. */
export interface DemoSummary {
  fenced: boolean;
  /** Acquisitions of the lock, by all workers. */
  cycles: number;
  /** Writes the store acknowledged: each one an increment its worker believes it made. */
  applied: number;
  /** Writes the store refused, and reads (each of a hold lost before it read). */
  refused: number;
  refusedReads: number;
  counter: number;
  /** Acknowledged increments missing from the counter: `applied - counter`. */
  lostUpdates: number;
  zombie: ZombieWrite;
}

const ROOT_DIR = "/zk-dist-lock-demo";
// Between reading the counter and writing it back, as real work would take.
const WORK_MS = 20;
// Workers load TypeScript through tsx and connect; on a busy machine that takes a while.
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const NEWER_WRITES = 3;

type WorkerStatus = "starting" | "waiting" | "holding" | "idle" | "stopped";

/**
 * Runs the scenario against the ZooKeeper at `settings.connect` and resolves with its counts once
 * every worker has stopped. Rejects when the story cannot be told (a worker died, a step did not
 * happen in time); every worker process is gone when it settles either way.
 *
 * @example
 * ```ts
 * const summary = await runDemo({ connect, workers: 3, durationMs: 8000, sessionTimeoutMs: 2000,
 *   fenced: true, dbFile: "/tmp/demo/counter.db", out: console.log });
 * if (summary.lostUpdates > 0) process.exitCode = 1;
 * ```
 */
export async function runDemo(settings: DemoSettings): Promise<DemoSummary> {
  CounterStore.create(settings.dbFile);
  const log = new ReportLog();
  const timeline = new Timeline(settings.out, () => log.now());
  const status = new Map<number, { status: WorkerStatus; token?: bigint }>();
  const tally = { cycles: 0, applied: 0, refused: 0, refusedReads: 0, counter: 0 };
  const stopped = new Set<number>();
  // Every event is printed for the first few cycles and around the freeze; otherwise a line a second.
  const detailCycles = 2 * settings.workers;
  let focus = false;
  let frozen: { worker: number; token: bigint; at: number } | undefined;
  let successor: number | undefined;
  let fenceNoted = false;
  let sessionTimeoutMs = settings.sessionTimeoutMs;

  const verbose = () => tally.cycles <= detailCycles || focus;
  const waiting = () => [...status].filter(([, s]) => s.status === "waiting").map(([id]) => id);

  const print = ({ worker, report, at }: Entry) => {
    switch (report.type) {
      case "session":
        sessionTimeoutMs = Math.max(sessionTimeoutMs, report.sessionTimeoutMs);
        return timeline.event(
          worker,
          report.renewed
            ? `started a new ZooKeeper session (the old one expired), timeout ${report.sessionTimeoutMs} ms`
            : `connected (pid ${workers[worker - 1]?.pid}), session timeout ${report.sessionTimeoutMs} ms`,
        );
      case "acquired":
        if (frozen && successor === undefined && worker !== frozen.worker && report.token > frozen.token) {
          successor = worker;
          timeline.event(worker, `acquired     token ${report.token}  (higher)`);
          return timeline.more(
            `ZooKeeper expired worker ${frozen.worker}'s session ${seconds(at - frozen.at)} after the freeze, deleted its lock node and woke the next in line`,
          );
        }
        if (verbose()) {
          const others = waiting().filter((id) => id !== worker);
          timeline.event(worker, `acquired     token ${report.token}  waiting: ${workerList(others)}`);
        }
        if (tally.cycles === detailCycles && !focus)
          timeline.more("(quieter from here on: a line a second, and everything about the frozen worker)");
        return;
      case "wrote":
        if (report.stale) return printZombie(worker, report);
        if (!report.applied) {
          return timeline.event(
            worker,
            `write of ${report.value} REFUSED: token ${report.token} is below the fence ${report.before.fence}`,
          );
        }
        if (verbose()) {
          // The successor's read, just before this write, is what put the frozen worker's token below
          // the fence: from then on the frozen worker's write cannot land.
          const first = settings.fenced && successor !== undefined && !fenceNoted;
          fenceNoted ||= first;
          const note = first ? `  (its read raised the store's fence to ${report.token})` : "";
          timeline.event(worker, `wrote ${String(report.value).padEnd(6)} token ${report.token}${note}`);
        }
        return;
      case "readRefused":
        return timeline.event(
          worker,
          `read REFUSED: token ${report.token} is below the fence ${report.fence}; nothing to write`,
        );
      case "lost":
        return timeline.event(worker, `lost its lock: ${report.reason}`);
      default:
        return;
    }
  };

  const printZombie = (worker: number, report: Extract<Report, { type: "wrote" }>) => {
    const { before, token } = report;
    if (!report.applied) {
      timeline.event(worker, `→ REFUSED by the store: token ${token} is below the fence ${before.fence}`);
    } else if (settings.fenced) {
      timeline.event(worker, `→ APPLIED despite its stale token: the fencing check failed`);
    } else {
      timeline.event(
        worker,
        `→ APPLIED (nothing checks the token): the counter goes back from ${before.value} to ${report.value}, a LOST UPDATE`,
      );
    }
    timeline.more(
      report.signalAborted
        ? "(its lock.signal had fired by then, but the worker checked it before the pause, as any process would)"
        : "(its lock.signal had not even fired yet: a paused process learns of the loss only after it wakes up)",
    );
  };

  const track = (worker: number, report: Report) => {
    const state = status.get(worker) ?? { status: "starting" };
    status.set(worker, state);
    if (report.type === "waiting") state.status = "waiting";
    else if (report.type === "acquired") {
      tally.cycles++;
      Object.assign(state, { status: "holding", token: report.token });
    } else if (report.type === "released" || report.type === "lost") state.status = "idle";
    else if (report.type === "stopped") {
      state.status = "stopped";
      stopped.add(worker);
    } else if (report.type === "wrote") {
      if (report.applied) {
        tally.applied++;
        tally.counter = report.value;
      } else tally.refused++;
    } else if (report.type === "readRefused") tally.refusedReads++;
  };

  const resource = `counter-${randomUUID().slice(0, 8)}`;
  const workers: WorkerProcess[] = [];
  for (let id = 1; id <= settings.workers; id++) {
    const config: WorkerConfig = {
      id,
      connect: settings.connect,
      sessionTimeoutMs: settings.sessionTimeoutMs,
      dbFile: settings.dbFile,
      fenced: settings.fenced,
      rootDir: ROOT_DIR,
      resource,
      workMs: WORK_MS,
    };
    const onReport = (report: Report) => {
      // Counted before it is logged: what waits on the log may look at the counts.
      track(id, report);
      print(log.add(id, report));
    };
    const onExit = (how: string) => {
      if (!stopped.has(id)) log.fail(new Error(`worker ${id} ended unexpectedly (${how})`));
    };
    status.set(id, { status: "starting" });
    workers.push(WorkerProcess.start(config, onReport, onExit));
  }

  const ticker = setInterval(() => {
    if (tally.cycles <= detailCycles) return;
    // Usually one holder; two while the resumed worker still believes it holds the lock.
    const holders = [...status]
      .filter(([, s]) => s.status === "holding")
      .map(([id, s]) => `worker ${id} (token ${s.token}${workers[id - 1]?.frozen ? ", FROZEN" : ""})`);
    timeline.event(
      undefined,
      `${tally.cycles} cycles, counter ${tally.counter}; holding: ${holders.join(", ") || "nobody"}; waiting: ${workerList(waiting())}`,
    );
  }, 1000);

  try {
    await Promise.all(
      workers.map((w) =>
        log.find("session", (e) => e.worker === w.id, {
          from: 0,
          timeoutMs: START_TIMEOUT_MS,
          what: `worker ${w.id} connected to ZooKeeper at ${settings.connect}`,
        }),
      ),
    );

    // Let the workers take a few turns first, so the freeze happens in a running system.
    await delay(Math.max(0, settings.durationMs / 4 - log.now()));
    await log.find("acquired", () => tally.cycles > detailCycles, {
      from: 0,
      timeoutMs: START_TIMEOUT_MS,
      what: `the workers took ${detailCycles + 1} turns`,
    });
    const victim = workers.find((w) => status.get(w.id)?.status !== "holding") ?? workers[0]!;
    victim.send({ type: "freezeNext" });
    timeline.event(victim.id, "will be frozen on its next hold, right after it reads the counter");

    const point = await log.find("freezePoint", (e) => e.worker === victim.id, {
      from: 0,
      timeoutMs: START_TIMEOUT_MS,
      what: `worker ${victim.id} got the lock again`,
    });
    const stale = point.report;
    victim.freeze();
    focus = true;
    frozen = { worker: victim.id, token: stale.token, at: log.now() };
    timeline.event(
      victim.id,
      `read counter = ${stale.value}, FROZEN (SIGSTOP) while holding token ${stale.token}`,
    );
    timeline.more(
      `no more heartbeats: ZooKeeper will expire its session after ${sessionTimeoutMs} ms; the others wait`,
    );

    const takeover = await log.find(
      "acquired",
      (e) => e.worker !== victim.id && e.report.token > stale.token,
      {
        from: point.index,
        timeoutMs: 3 * sessionTimeoutMs + 10_000,
        what: "another worker took over the lock",
      },
    );
    // A few writes by the new holders, so that the stale write lands on clearly newer data.
    let newerWrites = 0;
    await log.find("wrote", (e) => e.worker !== victim.id && ++newerWrites === NEWER_WRITES, {
      from: takeover.index,
      timeoutMs: START_TIMEOUT_MS,
      what: `the new holders wrote ${NEWER_WRITES} times`,
    });

    victim.resume();
    victim.send({ type: "write" });
    timeline.event(
      victim.id,
      `RESUMED (SIGCONT), writes counter = ${stale.value + 1} with its stale token ${stale.token}`,
    );
    const zombie = await log.find("wrote", (e) => e.worker === victim.id && e.report.stale, {
      from: point.index,
      timeoutMs: START_TIMEOUT_MS,
      what: `worker ${victim.id} made its stale write`,
    });
    focus = false;

    await delay(Math.max(0, settings.durationMs - log.now()));
    clearInterval(ticker);
    timeline.event(undefined, "stopping the workers");
    for (const worker of workers) worker.send({ type: "stop" });
    await Promise.all(
      workers.map((w) =>
        log.find("stopped", (e) => e.worker === w.id, {
          from: 0,
          timeoutMs: STOP_TIMEOUT_MS,
          what: `worker ${w.id} stopped`,
        }),
      ),
    );
    await Promise.all(workers.map((w) => w.exited));

    const store = CounterStore.open(settings.dbFile, { fenced: settings.fenced });
    const counter = store.row().value;
    store.close();
    const { token, value, applied, before, signalAborted } = zombie.report;
    return {
      fenced: settings.fenced,
      cycles: tally.cycles,
      applied: tally.applied,
      refused: tally.refused,
      refusedReads: tally.refusedReads,
      counter,
      lostUpdates: tally.applied - counter,
      zombie: { worker: victim.id, token, value, applied, before, signalAborted },
    };
  } finally {
    clearInterval(ticker);
    for (const worker of workers) worker.kill();
    await Promise.all(workers.map((w) => w.exited));
  }
}
