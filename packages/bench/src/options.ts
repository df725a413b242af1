import { parseArgs } from "node:util";
import type { BenchOptions } from "./suite.js";

export const usage = `Usage: pnpm bench [options]
  --runs N            runs, each measuring every implementation (default 3)
  --cycles N          uncontended acquire+release cycles per implementation and run (default 1000)
  --sessions 2,8,32   session counts of the contended scenario (default 2,8,32)
  --duration MS       length of each contended measurement (default 3000)
  --resources N       never-used resources in the many-resources scenario (default 1000)
  --memory-locks N    locks held at once for the memory figure, 0 to skip (default 10000)
  --raw-samples N     samples of each raw ZooKeeper request (default 200)
  --integration N     cycles through Nest and Express per run, 0 to skip (default 1000)
  --no-curator        leave Apache Curator out even when it is installed
  --quick             a fast, rougher pass (2 runs, short durations)
  --out DIR           where latest.md and latest.json go (default packages/bench/results)
ZK_CONNECT=host:port uses that ZooKeeper instead of starting one.`;

const defaults: Omit<BenchOptions, "connect"> = {
  runs: 3,
  cycles: 1000,
  blocks: 10,
  sessions: [2, 8, 32],
  durationMs: 3000,
  resources: 1000,
  rawSamples: 200,
  memoryLocks: 10_000,
  integrationCycles: 1000,
  curator: true,
};

const quick: Partial<BenchOptions> = {
  runs: 2,
  cycles: 300,
  durationMs: 1000,
  resources: 200,
  rawSamples: 50,
  memoryLocks: 2000,
  integrationCycles: 300,
};

export interface CliOptions {
  bench: Omit<BenchOptions, "connect">;
  out: string | undefined;
  help: boolean;
}

/** Reads the command line; throws with a message on bad input. */
export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: "string" },
      cycles: { type: "string" },
      sessions: { type: "string" },
      duration: { type: "string" },
      resources: { type: "string" },
      "memory-locks": { type: "string" },
      "raw-samples": { type: "string" },
      integration: { type: "string" },
      "no-curator": { type: "boolean" },
      quick: { type: "boolean" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const bench = { ...defaults, ...(values.quick ? quick : {}) };
  const count = (name: string, value: string | undefined, min: number) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${name} needs an integer ≥ ${min}; got "${value}".`);
    return n;
  };
  bench.runs = count("runs", values.runs, 1) ?? bench.runs;
  bench.cycles = count("cycles", values.cycles, 1) ?? bench.cycles;
  bench.durationMs = count("duration", values.duration, 1) ?? bench.durationMs;
  bench.resources = count("resources", values.resources, 1) ?? bench.resources;
  bench.memoryLocks = count("memory-locks", values["memory-locks"], 0) ?? bench.memoryLocks;
  bench.rawSamples = count("raw-samples", values["raw-samples"], 1) ?? bench.rawSamples;
  bench.integrationCycles = count("integration", values.integration, 0) ?? bench.integrationCycles;
  if (values.sessions !== undefined) {
    bench.sessions = values.sessions.split(",").map((s) => count("sessions", s, 1)!);
  }
  bench.blocks = Math.min(bench.blocks, bench.cycles);
  if (values["no-curator"]) bench.curator = false;
  return { bench, out: values.out, help: values.help ?? false };
}
