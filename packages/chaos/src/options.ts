import { parseArgs } from "node:util";

/** `pnpm chaos` command-line settings. */
export interface ChaosOptions {
  seconds: number;
  seed: number;
  workers: number;
}

export const usage = `Usage: pnpm chaos [--seconds N] [--seed S] [--workers N]

  --seconds N   how long faults are injected, 10 to 86400 (default 180); closing and checking follow
  --seed S      the seed of the fault schedule, a whole number (default: a random one, printed)
  --workers N   worker processes, each with its own session and proxy, 2 to 8 (default 4)
  --help        this text

Exit code: 0 no violation, 1 a violation (each is printed as it is found, and the seed to replay),
2 bad arguments, 3 the soak could not run.`;

/** A command line the soak cannot run with; printed with the usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Reads the options from the arguments (as `process.argv.slice(2)`); `undefined` for `--help`.
 *
 * @example
 * ```ts
 * parseChaosOptions(["--seconds", "60", "--seed", "7"], () => 1); // { seconds: 60, seed: 7, workers: 4 }
 * ```
 */
export function parseChaosOptions(args: string[], randomSeed: () => number): ChaosOptions | undefined {
  // `pnpm chaos -- --seed 7` passes the "--" on.
  const given = args[0] === "--" ? args.slice(1) : args;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: given,
      strict: true,
      allowPositionals: false,
      options: {
        seconds: { type: "string" },
        seed: { type: "string" },
        workers: { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return undefined;
  return {
    seconds: integer(values.seconds, "--seconds", 10, 86_400) ?? 180,
    seed: integer(values.seed, "--seed", 0, 2 ** 31 - 1) ?? randomSeed(),
    workers: integer(values.workers, "--workers", 2, 8) ?? 4,
  };
}

function integer(
  value: string | boolean | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || number < min || number > max) {
    throw new UsageError(`${name} needs a whole number from ${min} to ${max}, got "${String(value)}"`);
  }
  return number;
}
