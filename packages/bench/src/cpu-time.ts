// CPU time from Linux's /proc: of another process (a JVM: ZooKeeper, Curator), and of the machine.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) || 100;
  } catch {
    return 100;
  }
})();

/** Milliseconds of CPU time process `pid` has used so far: utime + stime of all its threads, in ticks of 10 ms. */
export function processCpuMs(pid: number): number {
  // After the command name in brackets, utime and stime are the 12th and 13th fields.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** Ticks of every core so far: in all, and busy (all but idle and iowait). */
function machineTicks(): { busy: number; total: number } {
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"; guest time is already in user.
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** What a measurement's loops cost beside the implementation's own processes. */
export interface AroundCpu {
  /** ZooKeeper's JVM; undefined when the bench did not start the server (ZK_CONNECT). */
  serverCpuMs: number | undefined;
  /** Cores of the machine busy on average, whoever kept them busy: `os.cpus().length` is saturated. */
  busyCores: number;
}

/**
 * Reads ZooKeeper's CPU time and the machine's busy cores over one measurement. A contender calls
 * `start()` when its sessions begin to loop and `stop()` when they have stopped, so that opening
 * and closing sessions (K clients of a JVM cost far more CPU than a second of handoffs) stay out.
 */
export class CpuMeter {
  #start: { server: number | undefined; machine: ReturnType<typeof machineTicks> } | undefined;
  #figures: AroundCpu | undefined;

  /** `serverPid`: ZooKeeper's JVM, when the bench started it. */
  constructor(readonly serverPid: number | undefined) {}

  start(): void {
    this.#start = { server: this.#serverMs(), machine: machineTicks() };
  }

  stop(): void {
    if (!this.#start) throw new Error("CpuMeter.stop() before start()");
    const { server, machine } = this.#start;
    const now = machineTicks();
    const serverMs = this.#serverMs();
    this.#figures = {
      serverCpuMs: server === undefined || serverMs === undefined ? undefined : serverMs - server,
      busyCores: ((now.busy - machine.busy) / (now.total - machine.total)) * os.cpus().length,
    };
  }

  /** The figures between start() and stop(). */
  get figures(): AroundCpu {
    if (!this.#figures) throw new Error("CpuMeter.figures before stop()");
    return this.#figures;
  }

  #serverMs = () => (this.serverPid === undefined ? undefined : processCpuMs(this.serverPid));
}
