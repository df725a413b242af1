import { coreContender } from "./scenarios/core.js";
import { curatorContender, curatorUnavailable } from "./scenarios/curator.js";
import { floorContender, type RawOp, rawOpLatencies } from "./scenarios/floor.js";
import { type IntegrationSample, measureIntegration } from "./scenarios/integration.js";
import { type MemorySample, measureMemory } from "./scenarios/memory.js";
import { measureObservability, type ObservabilitySample } from "./scenarios/observability.js";
import type { ContendedSample, Contender, CycleSample } from "./scenarios/types.js";
import { percentile, type Timing, timing } from "./stats.js";
import { connectClient, removeTree } from "./zk.js";

/** How much to measure. */
export interface BenchOptions {
  /** ZooKeeper connect string. */
  connect: string;
  /** Runs, each measuring every implementation; ratios are taken within a run. */
  runs: number;
  /** Uncontended acquire+release cycles per implementation and run. */
  cycles: number;
  /** The uncontended cycles are measured in this many blocks that alternate between implementations. */
  blocks: number;
  /** Session counts of the contended scenario. */
  sessions: number[];
  /** How long each contended measurement lasts, in milliseconds. */
  durationMs: number;
  /** Never-used resources in the many-resources scenario. */
  resources: number;
  /** Samples of each raw ZooKeeper request. */
  rawSamples: number;
  /** Locks held at once for the memory figure; 0 skips it. */
  memoryLocks: number;
  /** Cycles per integration (Nest, Express) and per observability setting, each run; 0 skips them. */
  integrationCycles: number;
  /** Whether to run Apache Curator when it is installed. */
  curator: boolean;
}

/** The contended figures of one implementation for one session count. */
export interface ContendedFigures {
  handoffsPerSecond: number;
  p50WaitMs: number;
  p99WaitMs: number;
  p50HandoffMs: number;
  p99HandoffMs: number;
  overlaps: number;
  /** Fewest and most acquisitions of any one session. */
  minPerSession: number;
  maxPerSession: number;
}

type Name = Contender["name"];

/** Everything one run measured. */
export interface RunResult {
  /** With the CPU time per cycle of the implementations that run in this process (not Curator). */
  uncontended: Partial<Record<Name, Timing & { cpuUsPerCycle?: number }>>;
  many: Partial<Record<Name, { perSecond: number }>>;
  contended: Record<string, Partial<Record<Name, ContendedFigures>>>;
  rawOps: Record<RawOp, { p50Ms: number; p99Ms: number }>;
  integration: IntegrationSample | undefined;
  observability: ObservabilitySample | undefined;
}

export interface BenchResult {
  options: Omit<BenchOptions, "connect">;
  /** Why Curator was not measured, if it was not. */
  curatorSkipped: string | undefined;
  runs: RunResult[];
  memory: MemorySample | undefined;
}

/**
 * Runs every scenario `runs` times against the ZooKeeper at `connect`, rotating the order of the
 * implementations from run to run so that none always goes first (or last) on a noisy machine.
 */
export async function runBench(
  options: BenchOptions,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const root = `/zk-bench-${Date.now().toString(36)}`;
  const curatorSkipped = options.curator ? curatorUnavailable() : "Curator: skipped (--no-curator)";
  if (curatorSkipped) log(curatorSkipped);
  const contenders: Contender[] = [
    await coreContender(options.connect),
    await floorContender(options.connect),
  ];
  if (!curatorSkipped) {
    log("Curator: compiling and starting the Java harness");
    contenders.push(await curatorContender(options.connect));
  }
  const admin = await connectClient(options.connect);
  try {
    const runs: RunResult[] = [];
    for (let run = 0; run < options.runs; run++) {
      const dir = `${root}/run${run}`;
      const order = rotate(contenders, run);
      log(`run ${run + 1}/${options.runs}: ${order.map((c) => c.name).join(", ")}`);
      const result: RunResult = {
        uncontended: await uncontended(order, dir, options),
        many: {},
        contended: {},
        rawOps: summarizeRaw(await rawOpLatencies(admin, `${dir}/raw`, options.rawSamples)),
        integration: undefined,
        observability: undefined,
      };
      for (const contender of order) {
        const elapsedMs = await contender.many(`${dir}/m-${contender.name}`, options.resources);
        result.many[contender.name] = { perSecond: (options.resources * 1000) / elapsedMs };
      }
      for (const sessions of options.sessions) {
        const figures: RunResult["contended"][string] = {};
        for (const contender of order) {
          if (!contender.contended) continue;
          const path = `${dir}/c${sessions}-${contender.name}/lock`;
          figures[contender.name] = contendedFigures(
            await contender.contended(path, sessions, options.durationMs),
          );
        }
        result.contended[sessions] = figures;
      }
      if (options.integrationCycles > 0) {
        result.integration = await measureIntegration(
          options.connect,
          `${dir}/integration`,
          options.integrationCycles,
        );
        result.observability = await measureObservability(
          options.connect,
          `${dir}/observability`,
          options.integrationCycles,
        );
      }
      runs.push(result);
      await removeTree(admin, dir);
    }
    let memory: MemorySample | undefined;
    if (options.memoryLocks > 0) {
      log(`memory: holding ${options.memoryLocks} locks at once`);
      memory = await measureMemory(options.connect, `${root}/memory`, options.memoryLocks);
    }
    const { connect: _, ...shown } = options;
    return { options: shown, curatorSkipped, runs, memory };
  } finally {
    await Promise.allSettled(contenders.map((contender) => contender.close()));
    await removeTree(admin, root).catch(() => {});
    admin.close();
  }
}

/** The cycles in alternating blocks, after a short warm-up of each implementation. */
async function uncontended(
  order: Contender[],
  dir: string,
  options: BenchOptions,
): Promise<RunResult["uncontended"]> {
  const path = (contender: Contender) => `${dir}/u-${contender.name}`;
  const warmUp = Math.max(1, Math.round(options.cycles / 10));
  for (const contender of order) await contender.uncontended(path(contender), warmUp);
  const samples = new Map<Contender, CycleSample[]>(order.map((c) => [c, []]));
  const perBlock = Math.max(1, Math.round(options.cycles / options.blocks));
  for (let block = 0; block < options.blocks; block++) {
    for (const contender of order)
      samples.get(contender)!.push(await contender.uncontended(path(contender), perBlock));
  }
  const result: RunResult["uncontended"] = {};
  for (const [contender, blocks] of samples) {
    const latencies = blocks.flatMap((b) => b.latenciesMs);
    const elapsed = blocks.reduce((sum, b) => sum + b.elapsedMs, 0);
    const cpu = blocks.every((b) => b.cpuMs !== undefined)
      ? { cpuUsPerCycle: (blocks.reduce((sum, b) => sum + b.cpuMs!, 0) * 1000) / latencies.length }
      : {};
    result[contender.name] = { ...timing(latencies.length, elapsed, latencies), ...cpu };
  }
  return result;
}

function contendedFigures(sample: ContendedSample): ContendedFigures {
  const handoffs = sample.perSession.reduce((a, b) => a + b, 0);
  return {
    handoffsPerSecond: (handoffs * 1000) / sample.elapsedMs,
    p50WaitMs: percentile(sample.waitsMs, 50),
    p99WaitMs: percentile(sample.waitsMs, 99),
    p50HandoffMs: percentile(sample.handoffsMs, 50),
    p99HandoffMs: percentile(sample.handoffsMs, 99),
    overlaps: sample.overlaps,
    minPerSession: Math.min(...sample.perSession),
    maxPerSession: Math.max(...sample.perSession),
  };
}

function summarizeRaw(samples: Record<RawOp, number[]>): RunResult["rawOps"] {
  const entries = Object.entries(samples).map(([op, ms]) => [
    op,
    { p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99) },
  ]);
  return Object.fromEntries(entries);
}

const rotate = <T>(items: readonly T[], by: number): T[] => {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
};
