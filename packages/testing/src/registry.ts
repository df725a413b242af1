// Every JVM and temp directory this process created, so that nothing outlives the test run: not a
// failed test, not process.exit(), not Ctrl-C. Only what is registered here is ever killed.
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
let installed = false;

/** Kills `child` with SIGKILL when this process exits or is told to stop by a signal. */
export function trackProcess(child: ChildProcess): void {
  install();
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** Removes `dir` when this process exits, unless {@link removeDir} did so first. */
export function trackDir(dir: string): void {
  install();
  dirs.add(dir);
}

export function removeDir(dir: string): void {
  dirs.delete(dir);
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Synchronous on purpose: an 'exit' listener cannot wait for anything. */
export function killEverythingNow(): void {
  for (const child of children) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
  children.clear();
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // Best effort while exiting.
    }
  }
  dirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killEverythingNow();
  // Listening for a signal switches off Node's default of exiting on it. When nobody else listens,
  // restore the default and re-raise, so that Ctrl-C still ends the process.
  if (process.listenerCount(signal) === 1) {
    for (const name of signals) process.removeListener(name, onSignal);
    process.kill(process.pid, signal);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killEverythingNow);
  // Worker threads get no signals; their JVMs die with the 'exit' listener or the main thread's.
  if (isMainThread) for (const signal of signals) process.on(signal, onSignal);
}
