import { CpuMeter, procMissing } from "./cpu-time.js";
import { type LatencyProxy, startLatencyProxy } from "./latency-proxy.js";
import type { ScenarioName } from "./options.js";
import { coreContender } from "./scenarios/core.js";
import { curatorContender, curatorUnavailable } from "./scenarios/curator.js";
import { Fleet } from "./scenarios/fleet.js";
import { floorContender, type RawOp, rawOpLatencies } from "./scenarios/floor.js";
import { type IntegrationSample, measureIntegration } from "./scenarios/integration.js";
import { type MemorySample, measureMemory } from "./scenarios/memory.js";
import { measureObservability, type ObservabilitySample } from "./scenarios/observability.js";
import type { Sharing, SharingSample } from "./scenarios/sharing.js";
import {
  type ClientKind,
  type ContendedSample,
  type Contender,
  type CoreName,
  type CycleSample,
  clientKinds,
  coreNames,
  type ImplName,
} from "./scenarios/types.js";
import { percentile, type Timing, timing } from "./stats.js";
import { openRequests, type Requests, removeTree } from "./zk.js";

/** The scenarios that compare with Curator; without them, its JVM does not start. */
const curatorScenarios: readonly ScenarioName[] = ["u", "m", "c", "rw", "semaphore"];

/** The read-mostly scenario's share of exclusive acquisitions: 9 shared for 1 exclusive. */
export const WRITE_SHARE = 0.1;

/** How long a semaphore's holder holds its permit: long enough for holders to overlap (see `criticalSection`). */
export const SEMAPHORE_HOLD_MS = 2;

/** How much to measure. */
export interface BenchOptions {
  /** ZooKeeper connect string. */
  connect: string;
  /** The ZooKeeper server's JVM when the bench started it, whose CPU time the contended measurements read. */
  serverPid?: number;
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
  /** Round trip added by a latency proxy between every client and ZooKeeper, in ms; 0 connects directly. */
  rttMs: number;
  /** Whether to run the contended scenarios also with each zk-dist-lock session in its own process. */
  processes: boolean;
  /**
   * Holds each of those processes makes of the lock on each client before the first measurement
   * (see `Fleet.start`), and a quarter as many of the shared lock and of the semaphore.
   */
  warmUpHolds: number;
  /** Sessions of the read-mostly and the semaphore scenarios. */
  sharingSessions: number;
  /** Permits of the semaphore scenario. */
  permits: number;
  /** The scenarios to run. */
  scenarios: readonly ScenarioName[];
}

/**
 * What the sessions' loops of a contended or sharing measurement cost in CPU time, per hold (a
 * handoff in C, an op in R and S), and how busy the machine was meanwhile.
 */
export interface CpuFigures {
  /** The implementation's own processes: the bench's (one event loop), the K processes', Curator's JVM (absent without /proc). */
  cpuUsPerHold?: number;
  /** ZooKeeper's JVM; absent without /proc, and when the bench did not start it (ZK_CONNECT). */
  serverCpuUsPerHold?: number;
  /** Cores busy on average, whoever kept them busy: all of them (2.0 of 2) is a CPU-bound measurement. Absent without /proc. */
  busyCores?: number;
}

/** The contended figures of one implementation for one session count. */
export interface ContendedFigures extends CpuFigures {
  handoffsPerSecond: number;
  p50WaitMs: number;
  p99WaitMs: number;
  p50HandoffMs: number;
  p99HandoffMs: number;
  overlaps: number;
  /** Fewest and most acquisitions of any one session. */
  minPerSession: number;
  maxPerSession: number;
  /** Grants whose token did not grow; measured in the K-processes mode. */
  tokenViolations?: number;
}

/** The contended scenario with every zk-dist-lock session in its own process (see `Fleet`), on each client. */
export type InProcessesFigures = Partial<Record<CoreName, ContendedFigures>>;

/** The figures of one implementation in the read-mostly or the semaphore scenario. */
export interface SharingFigures extends CpuFigures {
  opsPerSecond: number;
  /** Of the shared acquisitions: reads, or every permit. */
  p50WaitMs: number;
  p99WaitMs: number;
  /** Of the exclusive acquisitions (read-mostly only; NaN for a semaphore). */
  p50WriteWaitMs: number;
  p99WriteWaitMs: number;
  maxHolders: number;
  overlaps: number;
  minPerSession: number;
  maxPerSession: number;
  tokenViolations?: number;
}

/** One sharing scenario in one run: on the bench's one event loop, and with a process per session. */
export interface SharingRun {
  oneLoop: Partial<Record<ImplName, SharingFigures>>;
  /** zk-dist-lock on each client in K processes (Curator's figures are those of `oneLoop`). */
  processes: Partial<Record<CoreName, SharingFigures>>;
}

/** p50/p99 of each raw request, ms. */
export type RawOpFigures = Record<RawOp, { p50Ms: number; p99Ms: number }>;

/** Everything one run measured. */
export interface RunResult {
  /** With the CPU time per cycle of the implementations that run in this process (not Curator). */
  uncontended: Partial<Record<ImplName, Timing & { cpuUsPerCycle?: number }>>;
  many: Partial<Record<ImplName, { perSecond: number }>>;
  contended: Record<string, Partial<Record<ImplName, ContendedFigures>>>;
  /** By session count: the K-processes mode (Curator's figures are those of `contended`). */
  contendedProcesses: Record<string, InProcessesFigures>;
  /** The read-mostly lock and the semaphore, each when its scenario ran. */
  sharing: Partial<Record<Sharing["kind"], SharingRun>>;
  /** The raw requests on each client. */
  rawOps: Record<ClientKind, RawOpFigures>;
  integration: IntegrationSample | undefined;
  observability: ObservabilitySample | undefined;
}

export interface BenchResult {
  options: Omit<BenchOptions, "connect" | "serverPid">;
  /** Why Curator was not measured, if it was not. */
  curatorSkipped: string | undefined;
  /** Why the CPU figures read from /proc were not measured, if the scenarios that have them ran and they were not. */
  cpuSkipped: string | undefined;
  runs: RunResult[];
  /** Locks held at once by one manager on each client. */
  memory: Partial<Record<ClientKind, MemorySample>>;
}

/**
 * Runs every scenario `runs` times against the ZooKeeper at `connect` (through a latency proxy when
 * `rttMs` > 0), rotating the order of the implementations from run to run so that none always goes
 * first (or last) on a noisy machine.
 */
export async function runBench(
  options: BenchOptions,
  log: (line: string) => void = () => {},
): Promise<BenchResult> {
  const root = `/zk-bench-${Date.now().toString(36)}`;
  const selected = (name: ScenarioName) => options.scenarios.includes(name);
  const sharing = selected("rw") || selected("semaphore");
  const withCurator = curatorScenarios.some(selected);
  const curatorSkipped = !withCurator
    ? undefined
    : options.curator
      ? curatorUnavailable()
      : "Curator: skipped (--no-curator)";
  if (curatorSkipped) log(curatorSkipped);
  const cpuSkipped =
    procMissing && (selected("c") || sharing)
      ? `ZooKeeper's and Curator's CPU per hold and the machine's busy cores: ${procMissing}`
      : undefined;
  if (cpuSkipped) log(cpuSkipped);
  let proxy: LatencyProxy | undefined;
  const contenders: Contender[] = [];
  const fleetSize = Math.max(
    0,
    ...(selected("c") ? options.sessions : []),
    ...(sharing ? [options.sharingSessions] : []),
  );
  const fleet = options.processes && fleetSize > 0 ? new Fleet() : undefined;
  // The raw requests' clients, one of each kind; the binding's also cleans up.
  const requests: Partial<Record<ClientKind, Requests>> = {};
  try {
    if (options.rttMs > 0) {
      proxy = await startLatencyProxy(options.connect, options.rttMs);
      log(
        `network: ${options.rttMs} ms round trip through a latency proxy (${options.rttMs / 2} ms each way)`,
      );
    }
    const connect = proxy?.connectString ?? options.connect;
    // Every helper process starts before this process opens a ZooKeeper client (see Fleet.start). The
    // fleet warms up on the server itself: what it warms is its code, which the network does not
    // change, and through the proxy its holds would take several times as long.
    if (fleet) {
      log(`fleet: starting ${fleetSize} processes`);
      await fleet.start(fleetSize, options.connect, `${root}/fleet`, options.warmUpHolds);
    }
    if (withCurator && !curatorSkipped) {
      log("Curator: compiling and starting the Java harness");
      contenders.push(await curatorContender(connect));
    }
    for (const kind of clientKinds) {
      contenders.push(await coreContender(connect, kind), await floorContender(connect, kind));
      requests[kind] = await openRequests(connect, kind);
    }
    const admin = requests.binding!;
    // A recipe's first use pays for cold code, the JVM's most of all (its first read-mostly run here
    // was 5× slower than its second): each implementation takes the lock (three sessions, so that one
    // waits behind a waiter) and each sharing scenario for a moment first, as the fleet's processes
    // do when they start.
    const warmUpMs = Math.min(500, options.durationMs);
    for (const contender of contenders) {
      const path = (kind: string) => `${root}/warm-up-${kind}-${contender.name}/lock`;
      if (selected("c")) await contender.contended?.(path("c"), 3, warmUpMs, new CpuMeter(undefined));
      for (const kind of sharingKinds(options)) {
        const scenario = sharingScenario(kind, -1, options);
        await contender.share?.(
          path(kind),
          options.sharingSessions,
          warmUpMs,
          scenario,
          new CpuMeter(undefined),
        );
      }
    }
    const runs: RunResult[] = [];
    for (let run = 0; run < options.runs; run++) {
      const dir = `${root}/run${run}`;
      const order = rotate(contenders, run);
      log(`run ${run + 1}/${options.runs}: ${order.map((c) => c.name).join(", ")}`);
      const result: RunResult = {
        uncontended: selected("u") ? await uncontended(order, dir, options, run) : {},
        many: {},
        contended: {},
        contendedProcesses: {},
        sharing: {},
        rawOps: await rawOps(requests as Record<ClientKind, Requests>, dir, run, options.rawSamples),
        integration: undefined,
        observability: undefined,
      };
      for (const contender of selected("m") ? order : []) {
        const elapsedMs = await contender.many(`${dir}/m-${contender.name}`, options.resources);
        result.many[contender.name] = { perSecond: (options.resources * 1000) / elapsedMs };
      }
      for (const sessions of selected("c") ? options.sessions : []) {
        log(`  contended, K=${sessions}`);
        const figures: RunResult["contended"][string] = {};
        for (const contender of order) {
          if (!contender.contended) continue;
          const path = `${dir}/c${sessions}-${contender.name}/lock`;
          const meter = new CpuMeter(options.serverPid);
          figures[contender.name] = contendedFigures(
            await contender.contended(path, sessions, options.durationMs, meter),
            meter,
          );
        }
        result.contended[sessions] = figures;
        if (fleet) {
          const figures: InProcessesFigures = {};
          for (const impl of rotate<CoreName>([...coreNames], run)) {
            const path = `${dir}/p${sessions}-${impl}/lock`;
            const meter = new CpuMeter(options.serverPid);
            figures[impl] = contendedFigures(
              await fleet.contend(connect, impl, path, sessions, options.durationMs, meter),
              meter,
            );
          }
          result.contendedProcesses[sessions] = figures;
        }
      }
      for (const kind of sharingKinds(options)) {
        const scenario = sharingScenario(kind, run, options);
        log(`  ${kind}, K=${options.sharingSessions}`);
        const figures: SharingRun = { oneLoop: {}, processes: {} };
        for (const contender of order) {
          if (!contender.share) continue;
          const path = `${dir}/${kind}-${contender.name}/lock`;
          const meter = new CpuMeter(options.serverPid);
          figures.oneLoop[contender.name] = sharingFigures(
            await contender.share(path, options.sharingSessions, options.durationMs, scenario, meter),
            meter,
          );
        }
        if (fleet) {
          for (const impl of rotate(coreNames, run)) {
            const path = `${dir}/${kind}-processes-${impl}/lock`;
            const { sharingSessions, durationMs } = options;
            const meter = new CpuMeter(options.serverPid);
            figures.processes[impl] = sharingFigures(
              await fleet.share(connect, impl, path, sharingSessions, durationMs, scenario, meter),
              meter,
            );
          }
        }
        result.sharing[kind] = figures;
      }
      if (selected("integration") && options.integrationCycles > 0) {
        result.integration = await measureIntegration(
          connect,
          `${dir}/integration`,
          options.integrationCycles,
        );
        result.observability = await measureObservability(
          connect,
          `${dir}/observability`,
          options.integrationCycles,
        );
      }
      runs.push(result);
      await removeTree(admin, dir);
    }
    const memory: BenchResult["memory"] = {};
    for (const kind of selected("memory") && options.memoryLocks > 0 ? clientKinds : []) {
      log(`memory: holding ${options.memoryLocks} locks at once on the ${kind}`);
      memory[kind] = await measureMemory(connect, `${root}/memory-${kind}`, options.memoryLocks, kind);
    }
    const { connect: _, serverPid: __, ...shown } = options;
    return { options: shown, curatorSkipped, cpuSkipped, runs, memory };
  } finally {
    await Promise.allSettled([...contenders.map((contender) => contender.close()), fleet?.close()]);
    if (requests.binding) await removeTree(requests.binding, root).catch(() => {});
    await Promise.allSettled(Object.values(requests).map((client) => client.close()));
    await proxy?.close();
  }
}

/**
 * The cycles in alternating blocks, after a warm-up of each implementation: before the first run,
 * twice as many cycles as are measured, for the JIT to compile each cycle's code (V8 takes about
 * 2,000 of core's; with 100, the first run's CPU per cycle of core was about twice the later runs');
 * before each later run, a short one.
 */
async function uncontended(
  order: Contender[],
  dir: string,
  options: BenchOptions,
  run: number,
): Promise<RunResult["uncontended"]> {
  const path = (contender: Contender) => `${dir}/u-${contender.name}`;
  const warmUp = run === 0 ? 2 * options.cycles : Math.max(1, Math.round(options.cycles / 10));
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

/** Per hold of `holds`: the implementation's CPU time (`cpuMs`) and what `meter` read over the same loops. */
function cpuFigures(cpuMs: number | undefined, meter: CpuMeter, holds: number): CpuFigures {
  const { serverCpuMs, busyCores } = meter.figures;
  const perHold = (ms: number | undefined) => (ms === undefined ? undefined : (ms * 1000) / holds);
  return { cpuUsPerHold: perHold(cpuMs), serverCpuUsPerHold: perHold(serverCpuMs), busyCores };
}

function contendedFigures(sample: ContendedSample, meter: CpuMeter): ContendedFigures {
  const handoffs = sample.perSession.reduce((a, b) => a + b, 0);
  return {
    ...cpuFigures(sample.cpuMs, meter, handoffs),
    handoffsPerSecond: (handoffs * 1000) / sample.elapsedMs,
    p50WaitMs: percentile(sample.waitsMs, 50),
    p99WaitMs: percentile(sample.waitsMs, 99),
    p50HandoffMs: percentile(sample.handoffsMs, 50),
    p99HandoffMs: percentile(sample.handoffsMs, 99),
    overlaps: sample.overlaps,
    minPerSession: Math.min(...sample.perSession),
    maxPerSession: Math.max(...sample.perSession),
    ...(sample.tokenViolations !== undefined && { tokenViolations: sample.tokenViolations }),
  };
}

const sharingKinds = (options: BenchOptions): Sharing["kind"][] => [
  ...(options.scenarios.includes("rw") ? (["read-mostly"] as const) : []),
  ...(options.scenarios.includes("semaphore") ? (["semaphore"] as const) : []),
];

/** Run `run`'s sharing scenario: every implementation draws the same read-mostly choices in a run. */
function sharingScenario(kind: Sharing["kind"], run: number, options: BenchOptions): Sharing {
  return kind === "read-mostly"
    ? { kind, seed: 1000 * (run + 1), writeShare: WRITE_SHARE }
    : { kind, permits: options.permits, holdMs: SEMAPHORE_HOLD_MS };
}

function sharingFigures(sample: SharingSample, meter: CpuMeter): SharingFigures {
  const holds = sample.perSession.reduce((a, b) => a + b, 0);
  return {
    ...cpuFigures(sample.cpuMs, meter, holds),
    opsPerSecond: (holds * 1000) / sample.elapsedMs,
    p50WaitMs: percentile(sample.waitsMs, 50),
    p99WaitMs: percentile(sample.waitsMs, 99),
    p50WriteWaitMs: percentile(sample.writeWaitsMs, 50),
    p99WriteWaitMs: percentile(sample.writeWaitsMs, 99),
    maxHolders: sample.maxHolders,
    overlaps: sample.overlaps,
    minPerSession: Math.min(...sample.perSession),
    maxPerSession: Math.max(...sample.perSession),
    ...(sample.tokenViolations !== undefined && { tokenViolations: sample.tokenViolations }),
  };
}

/** The raw requests on each client, the clients' order rotating with the run. */
async function rawOps(
  requests: Record<ClientKind, Requests>,
  dir: string,
  run: number,
  samples: number,
): Promise<RunResult["rawOps"]> {
  const figures: Partial<RunResult["rawOps"]> = {};
  for (const kind of rotate(clientKinds, run)) {
    const latencies = await rawOpLatencies(requests[kind], `${dir}/raw-${kind}`, samples);
    const entries = Object.entries(latencies).map(([op, ms]) => [
      op,
      { p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99) },
    ]);
    figures[kind] = Object.fromEntries(entries);
  }
  return figures as RunResult["rawOps"];
}

const rotate = <T>(items: readonly T[], by: number): T[] => {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
};
