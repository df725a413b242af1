import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fourLetter, waitFor } from "../src/index.js";
import { isAlive } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "../../..");

interface Held {
  child: ChildProcess;
  started: Promise<{ pids: number[]; dirs: string[]; port: number }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** Runs a TypeScript file in a fresh Node process, as a user's test runner would. */
function runTs(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Held {
  const child = spawn(process.execPath, ["--import", "tsx", file, ...args], {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise<{ pids: number[]; dirs: string[]; port: number }>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      const line = stdout.split("\n").find((candidate) => candidate.startsWith("{"));
      if (line) resolve(JSON.parse(line));
    });
    void exited.then(() => reject(new Error(`exited before starting: ${stdout}\n${stderr}`)));
  });
  // Only some callers wait for a server; the others must not see an unhandled rejection.
  started.catch(() => {});
  return { child, started, exited, stderr: () => stderr };
}

const holdServer = join(here, "fixtures/hold-server.ts");

async function expectGone(pids: number[], dirs: string[]): Promise<void> {
  // The JVMs were SIGKILLed by the exiting process; the kernel may take a moment to reap them.
  await waitFor(() => pids.every((pid) => !isAlive(pid)), {
    timeoutMs: 5000,
    message: `pids ${pids} to die`,
  });
  for (const dir of dirs) expect(existsSync(dir), dir).toBe(false);
}

describe("nothing outlives the process that started servers", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal}: kills the JVM, removes the directory and still ends the process by the signal`, async () => {
      const held = runTs(holdServer, ["signal"]);
      const { pids, dirs, port } = await held.started;
      expect(pids.every(isAlive)).toBe(true);
      expect(await fourLetter("127.0.0.1", port, "ruok")).toBe("imok");
      held.child.kill(signal);
      expect(await held.exited).toEqual({ code: null, signal });
      await expectGone(pids, dirs);
    });
  }

  it("process.exit(): the exit handler kills every JVM, an ensemble's too", async () => {
    const held = runTs(holdServer, ["ensemble-exit"]);
    const { pids, dirs } = await held.started;
    expect(pids).toHaveLength(4);
    expect(await held.exited).toEqual({ code: 3, signal: null });
    await expectGone(pids, dirs);
  });

  it("an uncaught exception: the exit handler still runs", async () => {
    const held = runTs(holdServer, ["throw"]);
    const { pids, dirs } = await held.started;
    expect((await held.exited).code).toBe(1);
    expect(held.stderr()).toContain("boom");
    await expectGone(pids, dirs);
  });
});

describe("cli", () => {
  const cli = join(here, "../src/cli.ts");

  it("find: prints java and the class path", async () => {
    const run = runTs(cli, ["find"]);
    let out = "";
    run.child.stdout!.on("data", (chunk) => {
      out += chunk;
    });
    expect((await run.exited).code).toBe(0);
    expect(out).toMatch(/^java: .+$/m);
    expect(out).toMatch(/^classpath: .*zookeeper.*$/m);
  });

  it("find: exits 1 with the install instructions when ZooKeeper is missing", async () => {
    const run = runTs(cli, ["find"], { ...process.env, ZOOKEEPER_HOME: join(here, "no-such-zookeeper") });
    expect((await run.exited).code).toBe(1);
    expect(run.stderr()).toContain("sudo apt-get install zookeeper");
  });

  it("start: prints a connect string that serves, and stops on SIGINT", async () => {
    const run = runTs(cli, ["start"]);
    const connect = await new Promise<string>((resolve, reject) => {
      run.child.stdout!.on("data", (chunk: Buffer) => resolve(String(chunk).trim()));
      void run.exited.then(() => reject(new Error(run.stderr())));
    });
    expect(connect).toMatch(/^127\.0\.0\.1:\d+$/);
    const port = Number(connect.split(":")[1]);
    expect(await fourLetter("127.0.0.1", port, "srvr")).toMatch(/Mode: standalone/);
    run.child.kill("SIGINT");
    expect(await run.exited).toEqual({ code: 0, signal: null });
    await expect(fourLetter("127.0.0.1", port, "srvr", { timeoutMs: 1000 })).rejects.toMatchObject({
      code: "FOUR_LETTER_FAILED",
    });
  });
});
