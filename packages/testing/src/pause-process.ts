import type { ChildProcess } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { ZooKeeperTestingError } from "./errors.js";
import { trackPaused } from "./registry.js";

/** A process stopped by {@link pauseProcess}. */
export interface PausedProcess {
  readonly pid: number;
  /** Lets it run again (SIGCONT). Idempotent. */
  resume(): void;
}

/**
 * Freezes a process (SIGSTOP): every thread stops, its ZooKeeper client's heartbeats too, as a long
 * GC pause, a swapped-out or migrated VM would. Use it on a child process of your test that holds a
 * lock, to see what happens when it wakes up past its session timeout. The process is resumed when
 * this one ends, however it ends, if the test does not resume it: a stopped process nobody resumes
 * stays stopped for ever.
 *
 * @example
 * ```ts
 * const worker = fork("worker.js");
 * // … once the worker holds the lock:
 * const paused = pauseProcess(worker);
 * await setTimeout(sessionTimeoutMs + 1000);
 * paused.resume(); // it writes with a stale token, which the store must refuse
 * ```
 */
export function pauseProcess(target: ChildProcess | number): PausedProcess {
  const pid = typeof target === "number" ? target : target.pid;
  if (pid === undefined || !Number.isInteger(pid) || pid <= 0 || pid === process.pid) {
    throw new ZooKeeperTestingError(
      "INVALID_ARGUMENT",
      `pauseProcess needs the pid of another running process, got ${String(pid)}`,
    );
  }
  try {
    process.kill(pid, "SIGSTOP");
  } catch (error) {
    throw new ZooKeeperTestingError("NOT_RUNNING", `Cannot pause process ${pid}: it is not running`, {
      cause: error,
    });
  }
  trackPaused(pid, true);
  let resumed = false;
  return {
    pid,
    resume() {
      if (resumed) return;
      resumed = true;
      trackPaused(pid, false);
      try {
        process.kill(pid, "SIGCONT");
      } catch {
        // It died while stopped (SIGKILL works on a stopped process): nothing left to resume.
      }
    },
  };
}

/**
 * {@link pauseProcess} for `ms` milliseconds, then resumes it.
 *
 * @example
 * ```ts
 * await pauseProcessFor(worker, sessionTimeoutMs + 1000); // past its session timeout
 * ```
 */
export async function pauseProcessFor(target: ChildProcess | number, ms: number): Promise<void> {
  const paused = pauseProcess(target);
  try {
    await delay(ms);
  } finally {
    paused.resume();
  }
}
