import { parseArgs } from "node:util";

/** The demo's command-line settings. */
export interface DemoOptions {
  workers: number;
  durationMs: number;
  sessionTimeoutMs: number;
  fenced: boolean;
}

export const usage = `Usage: pnpm demo [--workers N] [--duration SECONDS] [--session-timeout MS] [--no-fencing]

  --workers N             worker processes taking the lock, 2 to 10 (default 3)
  --duration SECONDS      how long they cycle, 2 to 50 (default 8); the freeze happens within it
  --session-timeout MS    ZooKeeper session timeout of each worker, 500 to 10000 (default 2000)
  --no-fencing            write without the fencing check, to see the lost update it causes
  --help                  this text

Environment: ZK_CONNECT=host:port uses that ZooKeeper instead of starting an embedded one.
Exit code: 0 the invariant held (or --no-fencing ran to the end), 1 an update was lost or the
stale write was accepted despite fencing, 2 bad arguments, 3 the demo could not run to the end.`;

/** A command line the demo cannot run with; `main` prints it with the usage and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Reads the demo's options from its arguments (as `process.argv.slice(2)`); `undefined` for `--help`.
 *
 * @example
 * ```ts
 * parseDemoOptions(["--workers", "4", "--no-fencing"]);
 * // { workers: 4, durationMs: 8000, sessionTimeoutMs: 2000, fenced: false }
 * ```
 */
export function parseDemoOptions(args: string[]): DemoOptions | undefined {
  // `pnpm demo -- --no-fencing` passes the "--" on to the script.
  const given = args[0] === "--" ? args.slice(1) : args;
  let values: ReturnType<typeof parse>["values"];
  try {
    values = parse(given).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return undefined;
  return {
    workers: integer(values.workers, "--workers", 2, 10),
    durationMs: integer(values.duration, "--duration", 2, 50) * 1000,
    sessionTimeoutMs: integer(values["session-timeout"], "--session-timeout", 500, 10_000),
    fenced: !values["no-fencing"],
  };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      workers: { type: "string", default: "3" },
      duration: { type: "string", default: "8" },
      "session-timeout": { type: "string", default: "2000" },
      "no-fencing": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

function integer(text: string, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}; got "${text}".`);
  }
  return value;
}
