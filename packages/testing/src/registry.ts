// Every JVM and temp directory this process created, so that nothing outlives the test run: not a
// failed test, not process.exit(), not Ctrl-C, not a test runner killed under its workers, not even
// a SIGKILL of this process. Only what is registered here is ever killed.
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { isMainThread } from "node:worker_threads";

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
/** Processes that {@link trackPaused} saw stopped (SIGSTOP) and that must run again when we end. */
const paused = new Set<number>();
const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
let installed = false;

/** Kills `child` with SIGKILL when this process exits or is told to stop by a signal. */
export function trackProcess(child: ChildProcess): void {
  install();
  children.add(child);
  const pid = child.pid;
  if (pid !== undefined) tellWatchdog(`+K${pid}`);
  child.once("exit", () => {
    children.delete(child);
    if (pid !== undefined) tellWatchdog(`-K${pid}`);
  });
}

/**
 * Remembers that `pid` is stopped (SIGSTOP) by us, so that it gets SIGCONT when this process ends
 * whichever way: a stopped process nobody resumes stays stopped for ever. `false` forgets it.
 */
export function trackPaused(pid: number, isPaused: boolean): void {
  install();
  if (isPaused === paused.has(pid)) return;
  if (isPaused) paused.add(pid);
  else paused.delete(pid);
  tellWatchdog(`${isPaused ? "+" : "-"}C${pid}`);
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
  for (const pid of paused) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // Already gone.
    }
  }
  paused.clear();
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
  watchTestRunner();
}

// The watchdog: one `sh` per process, reading "+K<pid>" (kill it when we die), "+C<pid>" (resume
// it when we die) and their "-" retractions from a pipe. When this process dies in any way, even by
// SIGKILL or a crash that skips every hook, the kernel closes the pipe and the watchdog acts on what
// is left. It ignores the signals a terminal or a CI runner sprays over the process group, so that
// it is still there when the pipe closes; it holds nothing open that could keep anyone waiting.
const watchdogScript = `trap '' INT TERM HUP
live=' '
while IFS= read -r line; do
  entry=\${line#?}
  case $line in
    +*) live="$live$entry " ;;
    -*) case $live in *" $entry "*) live="\${live%%" $entry "*} \${live#*" $entry "}" ;; esac ;;
  esac
done
for entry in $live; do
  case $entry in
    K*) kill -KILL "\${entry#K}" 2>/dev/null ;;
    C*) kill -CONT "\${entry#C}" 2>/dev/null ;;
  esac
done`;

let watchdog: ChildProcess | undefined;

function tellWatchdog(line: string): void {
  if (watchdog === undefined) {
    watchdog = spawn("sh", ["-c", watchdogScript], { stdio: ["pipe", "ignore", "ignore"] });
    // Without a shell (Windows) there is no watchdog; the exit and signal hooks remain.
    watchdog.on("error", () => {});
    watchdog.stdin!.on("error", () => {});
    // Neither the watchdog nor its pipe may keep this process alive.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref(): void }).unref();
  }
  if (watchdog.stdin!.writable) watchdog.stdin!.write(`${line}\n`);
}

/**
 * A test runner's child (a vitest fork, a `node --test` file, a jest worker) is orphaned when only
 * the runner is killed (`kill <pid>`, `timeout`, a CI runner's cancel) and would otherwise run its
 * test body to the end with our servers alive. It has nobody left to report to: stop our servers and
 * end it. Plain scripts keep running when their parent goes (nohup, a detached CLI); they are not watched.
 */
function watchTestRunner(): void {
  const env = process.env;
  if (!(env.VITEST_WORKER_ID || env.NODE_TEST_CONTEXT || env.JEST_WORKER_ID)) return;
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid === parent) return;
    killEverythingNow();
    process.kill(process.pid, "SIGTERM");
    // In case something in the orphan catches SIGTERM and carries on.
    setTimeout(() => process.kill(process.pid, "SIGKILL"), 2000);
  }, 250).unref();
}
