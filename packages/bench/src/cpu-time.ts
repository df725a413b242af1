// CPU time from Linux's /proc: of another process (a JVM: ZooKeeper, Curator), and of the machine.
// Where there is no /proc (macOS), these figures are not measured and the reports say why; the
// figures of Node processes come from process.cpuUsage() and need none of this.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";

/** A file of /proc as text, or undefined where there is no /proc. */
export type ProcReader = (path: string) => string | undefined;

const hasProc = existsSync("/proc/stat");
const readProc: ProcReader = (path) => (hasProc ? readFileSync(path, "utf8") : undefined);

/** What a report says after naming the figures read from /proc, where there is none; undefined where there is. */
export const procMissing = hasProc
  ? undefined
  : "not measured (they are read from /proc, which only Linux has)";

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) || 100;
  } catch {
    return 100;
  }
})();

/** Milliseconds of CPU time process `pid` has used so far: utime + stime of all its threads, in ticks of 10 ms. */
function processCpuMs(pid: number, read: ProcReader): number | undefined {
  const stat = read(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // After the command name in brackets, utime and stime are the 12th and 13th fields.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** Ticks of every core so far: in all, and busy (all but idle and iowait). */
function machineTicks(read: ProcReader): { busy: number; total: number } | undefined {
  const stat = read("/proc/stat");
  if (stat === undefined) return undefined;
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"; guest time is already in user.
  const ticks = stat.split("\n", 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** A reading begun earlier: called, it gives what accrued since, or undefined without /proc. */
type Reading = () => number | undefined;

/** Reads `counter` now, and again when the reading is called, which gives `since(then, now)`. */
function reading<T>(counter: () => T | undefined, since: (then: T, now: T) => number): Reading {
  const then = counter();
  if (then === undefined) return () => undefined;
  return () => {
    const now = counter();
    return now === undefined ? undefined : since(then, now);
  };
}

/** Begins a reading of process `pid`'s CPU time: the milliseconds it has used since. */
export const cpuTimeOf = (pid: number, read: ProcReader = readProc): Reading =>
  reading(
    () => processCpuMs(pid, read),
    (then, now) => now - then,
  );

/** Begins a reading of the machine: how many cores were busy on average since. */
const busyCoresOf = (read: ProcReader): Reading =>
  reading(
    () => machineTicks(read),
    (then, now) => ((now.busy - then.busy) / (now.total - then.total)) * os.cpus().length,
  );

/** What a measurement's loops cost beside the implementation's own processes; undefined where not measured. */
export interface AroundCpu {
  /** ZooKeeper's JVM; undefined also when the bench did not start the server (ZK_CONNECT). */
  serverCpuMs: number | undefined;
  /** Cores of the machine busy on average, whoever kept them busy: `os.cpus().length` is saturated. */
  busyCores: number | undefined;
}

/**
 * Reads ZooKeeper's CPU time and the machine's busy cores over one measurement. A contender calls
 * `start()` when its sessions begin to loop and `stop()` when they have stopped, so that opening
 * and closing sessions (K clients of a JVM cost far more CPU than a second of handoffs) stay out.
 */
export class CpuMeter {
  #readings: { server: Reading | undefined; machine: Reading } | undefined;
  #figures: AroundCpu | undefined;

  /** `serverPid`: ZooKeeper's JVM, when the bench started it; `read`: /proc, or a stand-in for a test. */
  constructor(
    readonly serverPid: number | undefined,
    readonly read: ProcReader = readProc,
  ) {}

  start(): void {
    this.#readings = {
      server: this.serverPid === undefined ? undefined : cpuTimeOf(this.serverPid, this.read),
      machine: busyCoresOf(this.read),
    };
  }

  stop(): void {
    if (!this.#readings) throw new Error("CpuMeter.stop() before start()");
    const { server, machine } = this.#readings;
    this.#figures = { serverCpuMs: server?.(), busyCores: machine() };
  }

  /** The figures between start() and stop(). */
  get figures(): AroundCpu {
    if (!this.#figures) throw new Error("CpuMeter.figures before stop()");
    return this.#figures;
  }
}
