import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it, onTestFinished } from "vitest";
import { fourLetter, waitFor } from "../src/index.js";
import { isAlive, stateOf } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, "../../..");

interface Report {
  pids: number[];
  dirs: string[];
  port: number;
  /** hold-server's paused child; the vitest fixture's worker. */
  paused?: number;
  worker?: number;
}

interface Held {
  child: ChildProcess;
  /** The JSON line the process prints once its servers run. */
  started: Promise<Report>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
}

/** Runs `node <args>` in a fresh process, as a user's test runner or script would. */
function runNode(args: string[], env: NodeJS.ProcessEnv = process.env): Held {
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise<Report>((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      // A plain line from a script; inside a line of a test runner's report otherwise.
      const json = /\{"pids".*\}/.exec(stdout);
      if (json) resolve(JSON.parse(json[0]));
    });
    void exited.then(() => reject(new Error(`exited before starting: ${stdout}\n${stderr}`)));
  });
  // Only some callers wait for a server; the others must not see an unhandled rejection.
  started.catch(() => {});
  return { child, started, exited, stdout: () => stdout, stderr: () => stderr };
}

const runTs = (file: string, args: string[], env?: NodeJS.ProcessEnv) =>
  runNode(["--import", "tsx", file, ...args], env);

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

  it("SIGKILL, which no hook sees: the watchdog kills the JVM and resumes a paused child", async () => {
    const held = runTs(holdServer, ["pause-child"]);
    const { pids, dirs, paused } = await held.started;
    // A signal takes effect once its target next runs, a moment later on a loaded machine.
    await waitFor(() => stateOf(paused!) === "T", { timeoutMs: 5000, message: "the child to stop" });
    held.child.kill("SIGKILL");
    await held.exited;
    try {
      await expectGone(pids, []);
      await waitFor(() => stateOf(paused!) !== "T", { timeoutMs: 5000, message: "the paused child to run" });
    } finally {
      process.kill(paused!, "SIGKILL");
      // Only a hook could have removed the directories, and none ran.
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("test runners end, and leave no JVM, when a test forgets a server or the runner is killed", () => {
  it("node --test: a file that never stops its server exits by itself", async () => {
    const run = runNode(["--import", "tsx", "--test", join(here, "fixtures/leak-server.node-test.ts")]);
    const { pids, dirs } = await run.started;
    // Bounded by the test timeout: before the fix this run waited for the JVM for ever.
    expect(await run.exited).toEqual({ code: 0, signal: null });
    await expectGone(pids, dirs);
  });

  it("node --test: a file that never stops a laggable ensemble exits by itself", async () => {
    const run = runNode([
      "--import",
      "tsx",
      "--test",
      join(here, "fixtures/leak-laggable-ensemble.node-test.ts"),
    ]);
    // Should it hang, the test timeout ends this test; SIGTERM then ends the run and its JVMs.
    onTestFinished(() => {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill("SIGTERM");
    });
    const { pids, dirs } = await run.started;
    expect(pids).toHaveLength(3);
    expect(await run.exited).toEqual({ code: 0, signal: null });
    await expectGone(pids, dirs);
  });

  it("vitest: SIGTERM to the main process only ends its fork worker and the worker's JVM", async () => {
    const vitest = join(repoRoot, "node_modules/vitest/vitest.mjs");
    const config = join(here, "fixtures/orphan/vitest.config.ts");
    // A run of its own, not a part of this one: without the variables vitest set for this worker.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith("VITEST")),
    );
    const run = runNode([vitest, "run", "--config", config], env);
    const { pids, dirs, worker } = await run.started;
    expect(isAlive(worker)).toBe(true);
    run.child.kill("SIGTERM");
    await run.exited;
    // The worker notices that its runner is gone, stops its servers and ends.
    await expectGone([...pids, worker!], dirs);
  });
});

describe("cli", () => {
  const cli = join(here, "../src/cli.ts");

  it("find: prints java and the class path", async () => {
    const run = runTs(cli, ["find"]);
    expect((await run.exited).code).toBe(0);
    expect(run.stdout()).toMatch(/^java: .+$/m);
    expect(run.stdout()).toMatch(/^classpath: .*zookeeper.*$/m);
  });

  it("find: exits 1 with the install instructions when ZooKeeper is missing", async () => {
    const run = runTs(cli, ["find"], { ...process.env, ZOOKEEPER_HOME: join(here, "no-such-zookeeper") });
    expect((await run.exited).code).toBe(1);
    expect(run.stderr()).toContain("sudo apt-get install zookeeper");
  });

  it("no command, or a wrong one: the usage and exit code 2; --help: the usage and 0", async () => {
    for (const args of [[], ["stat"], ["start", "--port", "x"]]) {
      const run = runTs(cli, args);
      expect((await run.exited).code, args.join(" ")).toBe(2);
      expect(run.stderr()).toContain("Usage: zk-dist-lock-testing <command>");
    }
    const help = runTs(cli, ["--help"]);
    expect((await help.exited).code).toBe(0);
    expect(help.stdout()).toContain("Usage: zk-dist-lock-testing <command>");
  });

  it("start on a port in use: one line that says so, exit code 1", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const { port } = holder.address() as { port: number };
    try {
      const run = runTs(cli, ["start", "--port", String(port)]);
      expect((await run.exited).code).toBe(1);
      expect(run.stderr()).toBe(
        `Port ${port} on 127.0.0.1 is already in use; stop what listens there or choose another port.\n`,
      );
    } finally {
      holder.close();
    }
  });

  /** Runs the CLI until it prints its connect string. */
  async function serve(args: string[]): Promise<{ run: Held; connect: string }> {
    const run = runTs(cli, args);
    const connect = await new Promise<string>((resolve, reject) => {
      run.child.stdout!.on("data", () => {
        const line = run.stdout().split("\n")[0];
        if (run.stdout().includes("\n") && line) resolve(line);
      });
      void run.exited.then(() => reject(new Error(run.stderr())));
    });
    return { run, connect };
  }

  it("start: prints a connect string that serves, stays up, and stops on SIGINT", async () => {
    const { run, connect } = await serve(["start"]);
    try {
      expect(connect).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await fourLetter("127.0.0.1", port(connect), "srvr")).toMatch(/Mode: standalone/);

      // A proxy in front of it, with latency, for trying an application against a slow network.
      const proxy = await serve(["proxy", connect, "--latency", "5", "--jitter", "1"]);
      try {
        expect(proxy.connect).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(await fourLetter("127.0.0.1", port(proxy.connect), "ruok")).toBe("imok");
      } finally {
        proxy.run.child.kill("SIGTERM");
      }
      expect(await proxy.run.exited).toEqual({ code: 0, signal: null });
    } finally {
      run.child.kill("SIGINT");
    }
    expect(await run.exited).toEqual({ code: 0, signal: null });
    await expect(fourLetter("127.0.0.1", port(connect), "srvr", { timeoutMs: 1000 })).rejects.toMatchObject({
      code: "FOUR_LETTER_FAILED",
    });
  });
});

const port = (connect: string) => Number(connect.split(":")[1]);
