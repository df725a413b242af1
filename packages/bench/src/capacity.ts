// `pnpm bench --capacity`: how many lock cycles a second a real 3-member ensemble carries, and where
// the time goes as the load grows.
import os from "node:os";
import { fourLetter, startEnsemble, type ZooKeeperEnsemble } from "@zk-dist-lock/testing";
import { cpuTimeOf, procMissing } from "./cpu-time.js";
import { num, table } from "./report.js";
import { Fleet } from "./scenarios/fleet.js";
import type { CoreName } from "./scenarios/types.js";
import { percentile } from "./stats.js";
import { bindingRequests, connectClient, removeTree, SERVER_JVM } from "./zk.js";

/** What `--capacity` measures. */
export interface CapacityOptions {
  /** Sessions of each step, each session looping on a resource of its own. */
  sessions: number[];
  /** How long each step lasts, in milliseconds. */
  durationMs: number;
  /** The sessions are spread over this many Node processes (fewer when there are fewer sessions). */
  processes: number;
}

/** One ensemble member's share of a step. */
export interface MemberFigures {
  id: number;
  leader: boolean;
  /** CPU time of its JVM over the step ÷ the step's length: 1 is one core busy throughout; undefined without /proc. */
  cores: number | undefined;
  /** Transaction-log fsyncs per second, and the milliseconds a second spent in them (`mntr`). */
  fsyncsPerSecond: number;
  fsyncMsPerSecond: number;
}

/** One step: `sessions` sessions, each on its own resource, looping acquire+release. */
export interface CapacityStep {
  sessions: number;
  processes: number;
  cyclesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The three JVMs together: cores, and CPU microseconds per lock cycle; undefined without /proc. */
  serverCores: number | undefined;
  serverUsPerCycle: number | undefined;
  /** The Node processes running the sessions together. */
  clientCores: number;
  clientUsPerCycle: number;
  /** The leader's writes (a create and a delete per cycle) per fsync of its log: group commit at work. */
  writesPerLeaderFsync: number;
  members: MemberFigures[];
  /** The machine's 1-minute load average at the end of the step: other work on it shows here. */
  loadAverage: number;
}

export interface CapacityResult {
  options: CapacityOptions;
  /** Cores of this machine, which the ensemble, the clients and anything else running share. */
  cores: number;
  steps: CapacityStep[];
  /** Why the members' CPU was not measured, if it was not. */
  cpuSkipped: string | undefined;
}

/** The steps run zk-dist-lock on the binding: they measure the ensemble, and the client's CPU is one column. */
const CLIENT: CoreName = "core-binding";

/**
 * Starts a 3-member ensemble with fsync on (as a production ensemble runs), and for each step spreads
 * the sessions over the fleet's processes, each session on its own resource, so that the ensemble —
 * not one lock's queue — is what saturates. Measures cycles/s and latency, CPU time of every member's
 * JVM (from /proc) and of the clients, and each member's fsyncs (`mntr`).
 */
export async function runCapacity(
  options: CapacityOptions,
  log: (line: string) => void = () => {},
): Promise<CapacityResult> {
  log("capacity: starting a 3-member ensemble (forceSync=yes)");
  const ensemble = await startEnsemble({ size: 3, config: { forceSync: "yes" }, jvmOptions: SERVER_JVM });
  const fleet = new Fleet();
  const root = `/zk-capacity-${Date.now().toString(36)}`;
  try {
    const connect = ensemble.connectString;
    const leader = (await ensemble.leader())?.id;
    const size = Math.min(options.processes, Math.max(...options.sessions));
    await fleet.start(size, connect, `${root}/fleet`, 0);
    // Unreported: the members' JIT compiles their request paths (C2 takes seconds of CPU time).
    await fleet.cycle(connect, CLIENT, spread(`${root}/warm-up`, 2 * size, size), warmUpMs(options));
    const steps: CapacityStep[] = [];
    for (const sessions of options.sessions) {
      const paths = spread(`${root}/s${sessions}`, sessions, options.processes);
      const before = await probe(ensemble);
      const cpu = ensemble.members.map((member) => cpuTimeOf(member.pid!));
      const sample = await fleet.cycle(connect, CLIENT, paths, options.durationMs);
      const cpuMs = cpu.map((since) => since());
      const after = await probe(ensemble);
      const seconds = sample.elapsedMs / 1000;
      const cycles = sample.cyclesMs.length;
      const members = ensemble.members.map((member, i): MemberFigures => {
        const fsyncs = after[i]!.fsyncs - before[i]!.fsyncs;
        const ms = cpuMs[i];
        return {
          id: member.id,
          leader: member.id === leader,
          cores: ms === undefined ? undefined : ms / 1000 / seconds,
          fsyncsPerSecond: fsyncs / seconds,
          fsyncMsPerSecond: (after[i]!.fsyncMs - before[i]!.fsyncMs) / seconds,
        };
      });
      const cores = members.map((m) => m.cores);
      const serverCores = cores.every((c) => c !== undefined) ? cores.reduce((a, b) => a + b, 0) : undefined;
      const leaderFsyncs = members.find((m) => m.leader)?.fsyncsPerSecond;
      const step: CapacityStep = {
        sessions,
        processes: paths.length,
        cyclesPerSecond: cycles / seconds,
        p50Ms: percentile(sample.cyclesMs, 50),
        p99Ms: percentile(sample.cyclesMs, 99),
        serverCores,
        serverUsPerCycle: serverCores === undefined ? undefined : (serverCores * seconds * 1e6) / cycles,
        clientCores: sample.clientCpuMs / 1000 / seconds,
        clientUsPerCycle: (sample.clientCpuMs * 1000) / cycles,
        writesPerLeaderFsync: leaderFsyncs ? (2 * cycles) / (leaderFsyncs * seconds) : Number.NaN,
        members,
        loadAverage: os.loadavg()[0]!,
      };
      log(`capacity: ${sessions} sessions, ${Math.round(step.cyclesPerSecond)} cycles/s`);
      steps.push(step);
    }
    const cpuSkipped = procMissing && `ZooKeeper cores and µs/cycle: ${procMissing}`;
    return { options, cores: os.cpus().length, steps, cpuSkipped };
  } finally {
    await fleet.close();
    await cleanUp(ensemble.connectString, root);
    await ensemble.stop();
  }
}

/** As long as a step, within 2–5 s. */
const warmUpMs = (options: CapacityOptions) => Math.min(5000, Math.max(2000, options.durationMs));

/** `sessions` resources under `root`, dealt round-robin to at most `processes` processes. */
function spread(root: string, sessions: number, processes: number): string[][] {
  const out: string[][] = Array.from({ length: Math.min(sessions, processes) }, () => []);
  for (let i = 0; i < sessions; i++) out[i % out.length]!.push(`${root}/r${i}`);
  return out;
}

interface Probe {
  fsyncs: number;
  fsyncMs: number;
}

/** Every member's fsync counters so far. */
function probe(ensemble: ZooKeeperEnsemble): Promise<Probe[]> {
  return Promise.all(
    ensemble.members.map(async (member) => {
      const mntr = await fourLetter(member.host, member.port, "mntr");
      const metric = (name: string) =>
        Number(mntr.match(new RegExp(`^${name}\\s+(\\S+)`, "m"))?.[1] ?? Number.NaN);
      return { fsyncs: metric("zk_cnt_fsynctime"), fsyncMs: metric("zk_sum_fsynctime") };
    }),
  );
}

async function cleanUp(connect: string, root: string): Promise<void> {
  const admin = bindingRequests(await connectClient(connect));
  try {
    await removeTree(admin, root);
  } finally {
    await admin.close();
  }
}

/** The capacity steps as Markdown. */
export function renderCapacity(result: CapacityResult, meta: Record<string, string>): string {
  const out: string[] = [];
  out.push(
    Object.entries(meta)
      .map(([k, v]) => `${k}: ${v}`)
      .join(" · "),
  );
  out.push(
    `A 3-member ensemble on this machine (${result.cores} cores, shared by the members, the clients and ` +
      `anything else running), fsync on; each step ${result.options.durationMs} ms, every session looping ` +
      "acquire+release on a resource of its own. Cores: CPU time ÷ the step's length. " +
      "Leader: its share of the ZooKeeper cores, and its fsyncs.",
  );
  if (result.cpuSkipped) out.push(`${result.cpuSkipped}.`);
  const header = [
    "Sessions",
    "Processes",
    "cycles/s",
    "p50 ms",
    "p99 ms",
    "ZooKeeper cores",
    "leader cores",
    "ZooKeeper µs/cycle",
    "client cores",
    "client µs/cycle",
    "leader fsyncs/s",
    "leader fsync ms/s",
    "writes per fsync",
    "load avg",
  ];
  const lines = result.steps.map((s) => {
    const leader = s.members.find((m) => m.leader);
    return [
      s.sessions,
      s.processes,
      Math.round(s.cyclesPerSecond),
      num(s.p50Ms),
      num(s.p99Ms),
      num(s.serverCores),
      leader ? num(leader.cores) : "—",
      s.serverUsPerCycle === undefined ? "—" : Math.round(s.serverUsPerCycle),
      num(s.clientCores),
      Math.round(s.clientUsPerCycle),
      leader ? Math.round(leader.fsyncsPerSecond) : "—",
      leader ? num(leader.fsyncMsPerSecond) : "—",
      num(s.writesPerLeaderFsync),
      num(s.loadAverage),
    ].map(String);
  });
  out.push(table(header, lines));
  const peak = result.steps.reduce<CapacityStep | undefined>(
    (best, s) => (best && best.cyclesPerSecond >= s.cyclesPerSecond ? best : s),
    undefined,
  );
  if (peak) {
    // Two things saturate: the cores (shared by everything here), and the leader's log, which
    // fsyncs one batch of writes at a time.
    const log = (peak.members.find((m) => m.leader)?.fsyncMsPerSecond ?? Number.NaN) / 1000;
    const fsync = `the leader spent ${num(log * 100)} % of the time in fsync`;
    const peakAt = `Peak: ${Math.round(peak.cyclesPerSecond)} cycles/s at ${peak.sessions} sessions. There,`;
    if (peak.serverCores === undefined) out.push(`${peakAt} ${fsync}.`);
    else {
      const cpu = (peak.serverCores + peak.clientCores) / result.cores;
      const limit = cpu >= log ? "the CPU" : "the leader's fsyncs";
      out.push(
        `${peakAt} ZooKeeper and the clients kept ${num(cpu * 100)} % of the cores busy, and ${fsync}: ` +
          `${limit} came closest to its limit.`,
      );
    }
  }
  return `${out.join("\n\n")}\n`;
}
