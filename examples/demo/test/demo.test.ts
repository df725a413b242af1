// Runs the demo as a newcomer would (its own process, the shared ZooKeeper through ZK_CONNECT) and
// checks what it promises: the exit code, the summary, and that nothing it started outlives it.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";
import { waitFor } from "@zk-dist-lock/testing";
import { describe, expect, inject, it } from "vitest";

const demoDir = fileURLToPath(new URL("..", import.meta.url));

interface Run {
  child: ChildProcess;
  /** Everything printed so far. */
  output: () => string;
  /** Resolves with the exit code (128 + n for a signal). */
  exit: Promise<number>;
}

/** Starts `src/main.ts` the way `pnpm demo` does, with tsx resolved from the demo's directory. */
function startDemo(args: string[]): Run {
  const child = spawn(
    process.execPath,
    ["--conditions=@zk-dist-lock/source", "--import", "tsx", "src/main.ts", ...args],
    {
      cwd: demoDir,
      env: { ...process.env, ZK_CONNECT: inject("zkConnect") },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const exit = new Promise<number>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? 128 + constants.signals[signal!])),
  );
  return { child, output: () => output, exit };
}

/**
 * Resolves once what the demo printed satisfies `printed`. Fails naming `step`, with the output,
 * after `timeoutMs` or as soon as the demo exits first (it exits 3 with its own reason when one of
 * its steps stalls).
 */
async function waitForOutput(
  run: Run,
  printed: (output: string) => boolean,
  step: string,
  timeoutMs: number,
): Promise<void> {
  const exitedFirst = run.exit.then((code) => {
    throw new Error(`The demo exited with code ${code} before ${step}:\n${run.output()}`);
  });
  exitedFirst.catch(() => {}); // it still rejects once the demo exits after the match
  const reached = waitFor(() => printed(run.output()), { timeoutMs, message: step }).catch((error) => {
    throw new Error(`${error.message}; the demo printed:\n${run.output()}`, { cause: error });
  });
  await Promise.race([reached, exitedFirst]);
}

/** Resolves with `exit`'s value, or with `undefined` once `ms` have passed. */
async function within<T>(exit: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([exit, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The demo's exit code. If it has not exited within `timeoutMs`, it is interrupted so that it
 * stops its workers (and killed if it has not done so within `STOP_TIMEOUT_MS`), and the call fails
 * with everything it printed, its shutdown included.
 */
async function exitCode(run: Run, timeoutMs: number): Promise<number> {
  const code = await within(run.exit, timeoutMs);
  if (code !== undefined) return code;
  run.child.kill("SIGINT");
  if ((await within(run.exit, STOP_TIMEOUT_MS)) === undefined) run.child.kill("SIGKILL");
  throw new Error(`The demo had not exited after ${timeoutMs} ms; it printed:\n${run.output()}`);
}

const summaryNumber = (output: string, name: string) => {
  const match = new RegExp(`^  ${name}\\s+(\\d+)`, "m").exec(output);
  if (!match) throw new Error(`no "${name}" in the summary:\n${output}`);
  return Number(match[1]);
};

/** The worker pids the timeline printed, and the database path. */
const startedThings = (output: string) => ({
  pids: [...output.matchAll(/connected \(pid (\d+)\)/g)].map((m) => Number(m[1])),
  dbFile: /in (\S+counter\.db) \(removed at exit\)/.exec(output)?.[1],
});

/** Whether `pid` is a live process (a zombie waiting to be reaped counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function expectNothingLeft(output: string, workers: number) {
  const { pids, dbFile } = startedThings(output);
  expect(pids).toHaveLength(workers);
  expect(pids.filter(alive)).toEqual([]);
  expect(dbFile).toBeDefined();
  expect(existsSync(dbFile!)).toBe(false);
}

const short = ["--workers", "2", "--duration", "2", "--session-timeout", "2000"];
// The demo gives its workers 30 s to connect, after its own start, and exits 3 naming the step that
// stalled: the bound on the start leaves it room to say so. The freeze follows a few turns later.
const STARTUP_TIMEOUT_MS = 60_000;
const FREEZE_TIMEOUT_MS = 30_000;
// After SIGINT: the demo SIGKILLs its workers, waits until they are reaped, and exits.
const STOP_TIMEOUT_MS = 10_000;
// A whole run of `short`: its start, the story's turns and the 2 s of work, with room for a loaded machine.
const RUN_TIMEOUT_MS = STARTUP_TIMEOUT_MS + FREEZE_TIMEOUT_MS;

describe("pnpm demo", () => {
  it(
    "with fencing: the frozen worker's stale write is refused, no update is lost, exit 0",
    async () => {
      const run = startDemo(short);
      const code = await exitCode(run, RUN_TIMEOUT_MS);
      const output = run.output();
      expect(code, output).toBe(0);
      expect(output).toMatch(/FROZEN \(SIGSTOP\) while holding token (\d+)/);
      expect(output).toMatch(/acquired\s+token \d+\s+\(higher\)/);
      expect(output).toMatch(/RESUMED \(SIGCONT\), writes counter = \d+ with its stale token \d+/);
      expect(output).toMatch(/→ REFUSED by the store: token \d+ is below the fence \d+/);
      expect(output).toMatch(/^ {2}stale write\s+REFUSED/m);
      expect(summaryNumber(output, "lost updates")).toBe(0);
      expect(summaryNumber(output, "counter")).toBe(summaryNumber(output, "updates applied"));
      expect(summaryNumber(output, "refused writes")).toBeGreaterThanOrEqual(1);
      expect(summaryNumber(output, "lock cycles")).toBeGreaterThan(summaryNumber(output, "updates applied"));
      expect(output).toContain("OK: no update lost.");
      expectNothingLeft(output, 2);
    },
    RUN_TIMEOUT_MS + STOP_TIMEOUT_MS,
  );

  it(
    "with --no-fencing: the stale write lands and the summary counts the lost update, exit 0",
    async () => {
      const run = startDemo(["--no-fencing", ...short]);
      const code = await exitCode(run, RUN_TIMEOUT_MS);
      const output = run.output();
      expect(code, output).toBe(0);
      expect(output).toMatch(
        /→ APPLIED \(nothing checks the token\): the counter goes back from \d+ to \d+, a LOST UPDATE/,
      );
      expect(output).toMatch(/^ {2}stale write\s+APPLIED/m);
      const lost = summaryNumber(output, "lost updates");
      expect(lost).toBeGreaterThanOrEqual(1);
      expect(summaryNumber(output, "updates applied") - summaryNumber(output, "counter")).toBe(lost);
      expect(output).toContain("As expected without fencing");
      expectNothingLeft(output, 2);
    },
    RUN_TIMEOUT_MS + STOP_TIMEOUT_MS,
  );

  it(
    "on SIGINT while a worker is frozen, stops every worker and removes its files",
    async () => {
      const run = startDemo(short);
      // Its own start (three processes loading TypeScript) is most of a run, and on a loaded machine
      // can alone take longer than the rest of the story: the freeze is timed from connected workers.
      const connected = (output: string) => startedThings(output).pids.length === 2;
      await waitForOutput(run, connected, "both workers connected", STARTUP_TIMEOUT_MS);
      const frozen = (output: string) => output.includes("FROZEN (SIGSTOP)");
      await waitForOutput(run, frozen, "a frozen worker, once both had connected", FREEZE_TIMEOUT_MS);
      run.child.kill("SIGINT");
      expect(await run.exit, run.output()).toBe(130);
      expectNothingLeft(run.output(), 2);
    },
    STARTUP_TIMEOUT_MS + FREEZE_TIMEOUT_MS + STOP_TIMEOUT_MS,
  );

  it("exits 2 with the usage on a bad argument, before starting anything", async () => {
    const run = startDemo(["--workers", "1"]);
    expect(await run.exit).toBe(2);
    expect(run.output()).toContain('--workers must be a whole number from 2 to 10; got "1".');
    expect(run.output()).toContain("Usage: pnpm demo");
  });
});
