import { parseArgs } from "node:util";
import type { CapacityOptions } from "./capacity.js";
import type { BenchOptions } from "./suite.js";

/** The scenarios `--only` picks from; the raw requests are measured in every run. */
export const scenarioNames = ["u", "m", "c", "rw", "semaphore", "integration", "memory"] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export const usage = `Usage: pnpm bench [options]
  --rtt 0,1           round trips to ZooKeeper to measure at, in ms: 0 connects directly, any other
                      puts a latency proxy (half each way) in front of it for every client (default 0,1)
  --runs N            runs, each measuring every implementation (default 3)
  --cycles N          uncontended acquire+release cycles per implementation and run (default 1000)
  --sessions 2,8,32   session counts of the contended scenario (default 2,8,32)
  --duration MS       length of each contended measurement (default 3000)
  --no-processes      skip the contended scenarios with a process per zk-dist-lock session (fair mode)
  --sharing-sessions N  sessions of the read-mostly and semaphore scenarios (default 8)
  --permits N         permits of the semaphore scenario (default 3)
  --only LIST         only these scenarios, comma-separated: u,m,c,rw,semaphore,integration,memory
                      (the raw requests are always measured; default all)
  --resources N       never-used resources in the many-resources scenario (default 1000)
  --memory-locks N    locks held at once for the memory figure, 0 to skip (default 10000; loopback only)
  --raw-samples N     samples of each raw ZooKeeper request (default 200)
  --integration N     cycles through Nest and Express per run, 0 to skip (default 1000; loopback only)
  --no-curator        leave Apache Curator out even when it is installed
  --quick             a fast, rougher pass (2 runs, short durations)
  --capacity          instead: the capacity of a 3-member ensemble (fsync on) as sessions grow
    --capacity-sessions 1,4,16,64   sessions (each on its own resource) per step (default 1,4,16,64)
    --capacity-duration MS          length of each step (default 5000)
    --capacity-processes N          Node processes the sessions are spread over (default 4)
  --out DIR           where the report goes (default packages/bench/bench-results, ignored by git)
  --publish           also write the tracked results/ files and the README's table (a full run on a
                      quiet machine; not with --quick)
ZK_CONNECT=host:port uses that ZooKeeper instead of starting one (not with --capacity).`;

type SuiteOptions = Omit<BenchOptions, "connect" | "serverPid" | "rttMs">;

const defaults: SuiteOptions = {
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
  processes: true,
  warmUpHolds: 2000,
  sharingSessions: 8,
  permits: 3,
  scenarios: scenarioNames,
};

const quick: Partial<SuiteOptions> = {
  runs: 2,
  cycles: 300,
  durationMs: 1000,
  resources: 200,
  rawSamples: 50,
  memoryLocks: 2000,
  integrationCycles: 300,
  warmUpHolds: 300,
};

const capacityDefaults: CapacityOptions = { sessions: [1, 4, 16, 64], durationMs: 5000, processes: 4 };
const capacityQuick: Partial<CapacityOptions> = { durationMs: 1500 };

export interface CliOptions {
  bench: SuiteOptions;
  /** The round trips to measure at, in ms, in order. */
  rtts: number[];
  /** Set when `--capacity` asks for the ensemble's capacity instead. */
  capacity: CapacityOptions | undefined;
  out: string | undefined;
  publish: boolean;
  help: boolean;
}

/** Reads the command line; throws with a message on bad input. */
export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      rtt: { type: "string" },
      runs: { type: "string" },
      cycles: { type: "string" },
      sessions: { type: "string" },
      duration: { type: "string" },
      "no-processes": { type: "boolean" },
      "sharing-sessions": { type: "string" },
      permits: { type: "string" },
      only: { type: "string" },
      resources: { type: "string" },
      "memory-locks": { type: "string" },
      "raw-samples": { type: "string" },
      integration: { type: "string" },
      "no-curator": { type: "boolean" },
      quick: { type: "boolean" },
      capacity: { type: "boolean" },
      "capacity-sessions": { type: "string" },
      "capacity-duration": { type: "string" },
      "capacity-processes": { type: "string" },
      out: { type: "string" },
      publish: { type: "boolean" },
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
  bench.sharingSessions = count("sharing-sessions", values["sharing-sessions"], 1) ?? bench.sharingSessions;
  bench.permits = count("permits", values.permits, 1) ?? bench.permits;
  if (values.only !== undefined) {
    bench.scenarios = values.only.split(",").map((name) => {
      if (!(scenarioNames as readonly string[]).includes(name))
        throw new Error(`--only takes ${scenarioNames.join(",")}; got "${name}".`);
      return name as ScenarioName;
    });
  }
  if (values.sessions !== undefined) {
    bench.sessions = values.sessions.split(",").map((s) => count("sessions", s, 1)!);
  }
  bench.blocks = Math.min(bench.blocks, bench.cycles);
  if (values["no-curator"]) bench.curator = false;
  if (values["no-processes"]) bench.processes = false;

  const rtts = (values.rtt ?? "0,1").split(",").map((text) => {
    const ms = Number(text);
    if (text.trim() === "" || !Number.isFinite(ms) || ms < 0)
      throw new Error(`--rtt needs round trips in ms ≥ 0, comma-separated; got "${values.rtt}".`);
    return ms;
  });
  if (new Set(rtts).size !== rtts.length) throw new Error(`--rtt lists a round trip twice: "${values.rtt}".`);

  let capacity: CapacityOptions | undefined;
  if (values.capacity) {
    capacity = { ...capacityDefaults, ...(values.quick ? capacityQuick : {}) };
    const steps = values["capacity-sessions"];
    if (steps !== undefined)
      capacity.sessions = steps.split(",").map((s) => count("capacity-sessions", s, 1)!);
    capacity.durationMs = count("capacity-duration", values["capacity-duration"], 1) ?? capacity.durationMs;
    capacity.processes = count("capacity-processes", values["capacity-processes"], 1) ?? capacity.processes;
  }
  const publish = values.publish ?? false;
  if (publish && values.quick)
    throw new Error("--publish writes the README's table, which shows a full run: drop --quick.");
  return { bench, rtts, capacity, out: values.out, publish, help: values.help ?? false };
}
