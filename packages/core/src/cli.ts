#!/usr/bin/env node
// zk-dist-lock locks --connect host:port[,…][/chroot] [--root /locks] [--json] [--watch]: the
// operator's view of who holds what and who waits.
import { parseArgs } from "node:util";
import { isLockError } from "./errors.js";
import type { LockInspection, Participant } from "./index.js";
import { DEFAULT_ROOT_DIR } from "./options.js";
import { ZkLockManager } from "./zk-lock-manager.js";

const usage = `Usage: zk-dist-lock locks --connect HOST:PORT[,HOST:PORT…][/chroot] [options]
  Lists every resource under the root with its holder and its waiters, in queue order.
  --root PATH        the managers' rootDir (default ${DEFAULT_ROOT_DIR})
  --json             one JSON document (with --watch: one per line)
  --watch            print again every --interval ms until Ctrl-C
  --interval MS      default 2000
  --timeout MS       how long to wait for a ZooKeeper session, and for each read (default 5000)
With --watch, a read that fails is reported and tried again at the next interval.
What it shows can be a moment old: ZooKeeper reads are not linearizable across sessions.`;

/** What `locks` reads: every resource under a root, each as `inspect()` reports it. */
interface LocksSnapshot {
  rootDir: string;
  at: string;
  resources: LockInspection[];
}

async function snapshot(manager: ZkLockManager, rootDir: string, timeout: number): Promise<LocksSnapshot> {
  const names = (await manager.resources({ rootDir, timeout })).sort();
  const resources = await Promise.all(names.map((name) => manager.inspect(name, { rootDir, timeout })));
  return { rootDir, at: new Date().toISOString(), resources };
}

const who = (p: Participant) => {
  const owner = p.owner;
  const mode = p.permits === undefined ? p.mode : `${p.mode} of ${p.permits}`;
  const parts = [mode, owner ? `${owner.host} pid ${owner.pid}` : "(not a zk-dist-lock node)"];
  if (owner?.label !== undefined) parts.push(`label ${JSON.stringify(owner.label)}`);
  parts.push(`since ${owner?.since ?? p.createdAt.toISOString()}`, `session 0x${p.sessionId}`, p.node);
  return parts.join("  ");
};

/** The text form of a snapshot, one resource after another. */
function renderLocks({ rootDir, at, resources }: LocksSnapshot): string {
  const lines = [`${rootDir}: ${resources.length} resource(s), read at ${at}`];
  for (const { resource, holders, waiters } of resources) {
    lines.push(resource);
    if (holders.length === 0) lines.push("  free");
    for (const holder of holders) lines.push(`  held by  ${who(holder)}`);
    for (const [i, waiter] of waiters.entries()) lines.push(`  ${String(i + 1).padStart(3)}. ${who(waiter)}`);
  }
  return lines.join("\n");
}

const json = (value: unknown) => JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      connect: { type: "string" },
      root: { type: "string", default: DEFAULT_ROOT_DIR },
      json: { type: "boolean", default: false },
      watch: { type: "boolean", default: false },
      interval: { type: "string", default: "2000" },
      timeout: { type: "string", default: "5000" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (positionals[0] !== "locks" || positionals.length !== 1 || !values.connect) {
    console.error(usage);
    return 2;
  }
  const interval = milliseconds(values.interval, "--interval");
  const connectTimeout = milliseconds(values.timeout, "--timeout");
  const manager = await ZkLockManager.connect(values.connect, { connectTimeout, rootDir: values.root });
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  process.once("SIGTERM", () => stop.abort());
  try {
    for (;;) {
      try {
        const view = await snapshot(manager, values.root, connectTimeout);
        console.log(values.json ? json(view) : renderLocks(view));
        if (!values.watch) return 0;
        if (!values.json) console.log("");
      } catch (error) {
        // An outage: the manager reconnects (or opens a new session) by itself; try again then.
        if (!values.watch || !isLockError(error, "CONNECTION")) throw error;
        console.error(`zk-dist-lock: ${error.message}`);
      }
      await sleep(interval, stop.signal);
      if (stop.signal.aborted) return 0;
    }
  } finally {
    await manager.close();
  }
}

function milliseconds(text: string, name: string): number {
  const value = Number(text);
  // Node's timers take at most 2^31 - 1 ms, and fire at once for more.
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 - 1)
    throw new UsageError(`${name} needs a positive number of milliseconds, at most 2147483647`);
  return value;
}

class UsageError extends Error {}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Bad input (ours, core's INVALID_ARGUMENT, parseArgs' ERR_PARSE_ARGS_*) exits 2 with the usage.
    const usageError =
      error instanceof UsageError ||
      isLockError(error, "INVALID_ARGUMENT") ||
      (error instanceof Error && "code" in error && !isLockError(error));
    if (usageError) {
      console.error(`zk-dist-lock: ${error.message}\n\n${usage}`);
      process.exitCode = 2;
    } else {
      console.error(`zk-dist-lock: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  },
);
