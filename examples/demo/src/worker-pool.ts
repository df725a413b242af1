// The parent's side of the worker processes: starting them, talking to them, freezing them, and a
// log of everything they report that the scenario can wait on.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Command, Report, WorkerConfig } from "./protocol.js";

/** One report as the parent received it. */
export interface Entry<R extends Report = Report> {
  /** Position in the log, to wait for what comes after an earlier entry. */
  index: number;
  /** Milliseconds since the log started. */
  at: number;
  worker: number;
  report: R;
}

type ReportOf<T extends Report["type"]> = Extract<Report, { type: T }>;

/** Every report of every worker in arrival order; `find` waits for one that has not come yet. */
export class ReportLog {
  readonly #entries: Entry[] = [];
  readonly #waiters = new Set<{ check: () => void; fail: (error: Error) => void }>();
  readonly #started = performance.now();
  #failure: Error | undefined;

  /** Milliseconds since the log started. */
  now(): number {
    return performance.now() - this.#started;
  }

  add(worker: number, report: Report): Entry {
    const entry = { index: this.#entries.length, at: this.now(), worker, report };
    this.#entries.push(entry);
    for (const waiter of this.#waiters) waiter.check();
    return entry;
  }

  /** Makes every pending and later `find` reject, e.g. when a worker died. */
  fail(error: Error): void {
    this.#failure ??= error;
    for (const waiter of this.#waiters) waiter.fail(error);
  }

  /**
   * The first report of `type` at or after index `from` that `match` accepts, as soon as it is
   * there. Rejects after `timeoutMs` with a message naming `what` was awaited, or when the log fails.
   */
  find<T extends Report["type"]>(
    type: T,
    match: (entry: Entry<ReportOf<T>>) => boolean,
    options: { from: number; timeoutMs: number; what: string },
  ): Promise<Entry<ReportOf<T>>> {
    return new Promise((resolve, reject) => {
      let next = options.from;
      const waiter = {
        check: () => {
          for (; next < this.#entries.length; next++) {
            const entry = this.#entries[next] as Entry<ReportOf<T>>;
            if (entry.report.type === type && match(entry)) return settle(() => resolve(entry));
          }
        },
        fail: (error: Error) => settle(() => reject(error)),
      };
      const timer = setTimeout(
        () => waiter.fail(new Error(`Gave up after ${options.timeoutMs} ms waiting until ${options.what}.`)),
        options.timeoutMs,
      );
      const settle = (done: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        done();
      };
      if (this.#failure) return waiter.fail(this.#failure);
      this.#waiters.add(waiter);
      waiter.check();
    });
  }
}

const workerScript = fileURLToPath(new URL("./worker.ts", import.meta.url));
// Resolved from this file rather than the working directory, so the demo runs from anywhere.
const workerExecArgv = ["--conditions=@zk-dist-lock/source", "--import", import.meta.resolve("tsx")];

const live = new Set<WorkerProcess>();

/** SIGKILLs every worker still running; synchronous, for an `exit` handler. */
export function killAllWorkers(): void {
  for (const worker of live) worker.kill();
}

/** SIGKILLs every worker still running and resolves once they are all gone (reaped). */
export async function stopAllWorkers(): Promise<void> {
  const workers = [...live];
  killAllWorkers();
  await Promise.all(workers.map((w) => w.exited));
}

/** A running worker process. */
export class WorkerProcess {
  readonly #child: ChildProcess;
  /** Resolves when the process has exited, with a description of how. */
  readonly exited: Promise<string>;
  #frozen = false;

  private constructor(
    readonly id: number,
    child: ChildProcess,
  ) {
    this.#child = child;
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`)),
    );
  }

  /**
   * Starts a worker: `onReport` receives what it says, `onExit` hears when it ends. The worker's
   * stderr is the demo's, so its crashes are seen.
   */
  static start(
    config: WorkerConfig,
    onReport: (report: Report) => void,
    onExit: (how: string) => void,
  ): WorkerProcess {
    const child = fork(workerScript, [JSON.stringify(config)], {
      execArgv: workerExecArgv,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const worker = new WorkerProcess(config.id, child);
    live.add(worker);
    child.on("message", (report: Report) => onReport(report));
    void worker.exited.then((how) => {
      live.delete(worker);
      onExit(how);
    });
    return worker;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  send(command: Command): void {
    if (this.running && this.#child.connected) this.#child.send(command);
  }

  /** SIGSTOP: every thread of the process stops, its ZooKeeper client's heartbeats too. */
  freeze(): void {
    this.#child.kill("SIGSTOP");
    this.#frozen = true;
  }

  /** SIGCONT. */
  resume(): void {
    this.#child.kill("SIGCONT");
    this.#frozen = false;
  }

  /** SIGKILL, which also ends a frozen process. Synchronous, so it may run in an `exit` handler. */
  kill(): void {
    if (this.running) this.#child.kill("SIGKILL");
  }

  get frozen(): boolean {
    return this.#frozen;
  }
}
