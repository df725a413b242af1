// `pnpm demo`: fencing tokens in action. See README.md for what it shows and how to read it.
import { mkdtempSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { startZooKeeper, type ZooKeeperServer } from "@zk-dist-lock/testing";
import { parseDemoOptions, UsageError, usage } from "./options.js";
import { runDemo } from "./scenario.js";
import { FENCED_READ, FENCED_WRITE, UNFENCED_READ, UNFENCED_WRITE } from "./store.js";
import { exitCodeOf, summaryLines } from "./summary.js";
import { killAllWorkers, stopAllWorkers } from "./worker-pool.js";

let options: ReturnType<typeof parseDemoOptions>;
try {
  options = parseDemoOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`${error.message}\n\n${usage}`);
  process.exit(2);
}
if (!options) {
  console.log(usage);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "zk-dist-lock-demo-"));
// Whatever ends this process, nothing it started outlives it. (The embedded ZooKeeper server is
// killed by @zk-dist-lock/testing's own exit handler.)
process.on("exit", () => {
  killAllWorkers();
  rmSync(dir, { recursive: true, force: true });
});
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  // `on`, not `once`: @zk-dist-lock/testing re-raises the signal (ending the process at once, before
  // this cleanup) when its own handler is the only one left.
  process.on(signal, () => {
    const code = 128 + constants.signals[signal];
    if (interrupted) process.exit(code); // a second Ctrl-C: the exit handler still kills the workers
    interrupted = true;
    console.log(`\n${signal}: stopping the workers and ZooKeeper.`);
    // Wait until the workers are really gone (the frozen one too), not only signalled.
    void stopAllWorkers().finally(() => process.exit(code));
  });
}

const log = (line = "") => console.log(line);
const dbFile = join(dir, "counter.db");
let server: ZooKeeperServer | undefined;
try {
  log("zk-dist-lock demo: a fencing token stops the write of a holder that lost the lock");
  log();
  let connect = process.env.ZK_CONNECT;
  if (connect) {
    log(`  ZooKeeper   ${connect} (from ZK_CONNECT)`);
  } else {
    log("  ZooKeeper   starting an embedded server…");
    // A short tick lets the server grant short session timeouts and notice their expiry promptly.
    server = await startZooKeeper({ tickTime: 200 });
    connect = server.connectString;
    log(`              ${connect}, embedded (set ZK_CONNECT=host:port to use another)`);
  }
  log(
    `  workers     ${options.workers} processes, each its own ZooKeeper session, take turns on one lock to`,
  );
  log("              increment a counter in SQLite: read it, work 20 ms, write it back");
  log(`  store       ${options.fenced ? "fenced" : "UNFENCED (--no-fencing)"}`);
  log(`              read:  ${options.fenced ? FENCED_READ : UNFENCED_READ}`);
  log(`              write: ${options.fenced ? FENCED_WRITE : UNFENCED_WRITE}`);
  log(`              in ${dbFile} (removed at exit)`);
  log(
    "  the story   one worker is frozen (SIGSTOP) while it holds the lock, between its read and its write;",
  );
  log("              its session expires, another worker takes over with a higher token and writes; then");
  log("              the frozen worker resumes and writes with its old token, as a paused process would");
  log();

  const summary = await runDemo({
    connect,
    workers: options.workers,
    durationMs: options.durationMs,
    sessionTimeoutMs: options.sessionTimeoutMs,
    fenced: options.fenced,
    dbFile,
    out: log,
  });
  log();
  for (const line of summaryLines(summary)) log(line);
  process.exitCode = exitCodeOf(summary);
} catch (error) {
  // Stopping on a signal fails the run too (its workers die); that needs no explanation.
  if (!interrupted) {
    console.error(`\nThe demo could not run to the end: ${error instanceof Error ? error.message : error}`);
    if (server) console.error(`ZooKeeper log (last lines):\n${server.logTail(20)}`);
    process.exitCode = 3;
  }
} finally {
  await server?.stop();
}
