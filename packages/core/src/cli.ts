#!/usr/bin/env node
// zk-dist-lock locks --connect host:port[,…][/chroot] [--root /locks] [--json] [--watch]: the
// operator's view of who holds what and who waits.
import { readFileSync } from "node:fs";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { parseArgs } from "node:util";
import { isLockError } from "./errors.js";
import type { LockInspection, Participant } from "./index.js";
import { DEFAULT_ROOT_DIR } from "./options.js";
import type { ZkAuth } from "./session/zk-client.js";
import { ZkLockManager } from "./zk-lock-manager.js";

const usage = `Usage: zk-dist-lock locks --connect HOST:PORT[,HOST:PORT…][/chroot] [options]
  Lists every resource under the root with its holder and its waiters, in queue order.
  --root PATH        the managers' rootDir (default ${DEFAULT_ROOT_DIR})
  --json             one JSON document (with --watch: one per line)
  --watch            print again every --interval ms until Ctrl-C
  --interval MS      default 2000
  --timeout MS       how long to wait for a ZooKeeper session, and for each read (default 5000)
  --auth SCHEME:CREDENTIALS
                     authenticate the session, as the managers do, for a root whose ACL keeps
                     others from reading it: --auth digest:USER:PASSWORD (may be repeated)
  --tls              connect over TLS (the servers' secureClientPort), trusting the system's CAs
  --tls-ca FILE      PEM file of the CA that signed the servers' certificates (implies --tls)
  --tls-cert FILE    PEM client certificate, with --tls-key (implies --tls)
  --tls-key FILE     PEM key of the client certificate, with --tls-cert (implies --tls)
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
      auth: { type: "string", multiple: true, default: [] },
      tls: { type: "boolean", default: false },
      "tls-ca": { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
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
  const auth = values.auth.map(authOf);
  const tls = tlsOf(values);
  const manager = await ZkLockManager.connect(values.connect, {
    connectTimeout,
    rootDir: values.root,
    auth,
    ...(tls && { tls }),
  });
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

/** `--auth digest:user:password`: the scheme, then everything after its colon as the credentials. */
function authOf(text: string): ZkAuth {
  const colon = text.indexOf(":");
  if (colon < 1)
    throw new UsageError(`--auth needs SCHEME:CREDENTIALS, such as digest:USER:PASSWORD; got "${text}"`);
  return { scheme: text.slice(0, colon), credentials: text.slice(colon + 1) };
}

/** The `tls.connect()` options of the --tls flags, or undefined for plain TCP. */
function tlsOf(values: {
  tls: boolean;
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
}): TlsOptions | undefined {
  const { "tls-ca": caFile, "tls-cert": certFile, "tls-key": keyFile } = values;
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError("--tls-cert and --tls-key go together: the client certificate and its key");
  if (!values.tls && caFile === undefined && certFile === undefined) return undefined;
  const pem = (file: string | undefined, flag: string) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, "utf8");
    } catch (error) {
      throw new UsageError(`${flag} ${file}: ${(error as Error).message}`);
    }
  };
  const [ca, cert, key] = [pem(caFile, "--tls-ca"), pem(certFile, "--tls-cert"), pem(keyFile, "--tls-key")];
  return { ...(ca && { ca }), ...(cert && { cert }), ...(key && { key }) };
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
