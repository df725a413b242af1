import os from "node:os";
import { describe, expect, it } from "vitest";
import { CpuMeter, cpuTimeOf, type ProcReader } from "./cpu-time.js";

/** A /proc of one process, `pid` 42, whose files the test rewrites between readings. */
function fakeProc() {
  const files = new Map<string, string>();
  const read: ProcReader = (path) => {
    const text = files.get(path);
    if (text === undefined) throw new Error(`ENOENT: ${path}`);
    return text;
  };
  return {
    read,
    /** utime and stime in ticks; a command name with a space and brackets, and other fields that differ from them. */
    process(utime: number, stime: number) {
      files.set(
        "/proc/42/stat",
        `42 (java (x) 1) S 1 42 42 0 -1 4194560 7 8 9 10 ${utime} ${stime} 11 12 20 0 33`,
      );
    },
    /** user nice system idle iowait irq softirq steal guest guest_nice */
    machine(...ticks: number[]) {
      files.set("/proc/stat", `cpu  ${ticks.join(" ")}\ncpu0 1 2 3 4 5 6 7 8 9 10\n`);
    },
  };
}

describe("CPU time from /proc", () => {
  it("reads a process's utime + stime after its bracketed command name", () => {
    const proc = fakeProc();
    const used = (utime: number, stime: number) => {
      proc.process(0, 0);
      const reading = cpuTimeOf(42, proc.read);
      proc.process(utime, stime);
      return reading()!;
    };
    expect(used(30, 0)).toBeGreaterThan(0);
    expect(used(0, 60)).toBeCloseTo(2 * used(30, 0));
    expect(used(30, 70)).toBeCloseTo((100 / 30) * used(30, 0));
  });

  it("meters the server and the machine's busy cores (all but idle and iowait, guest time not twice)", () => {
    const proc = fakeProc();
    proc.process(100, 100);
    proc.machine(100, 0, 50, 800, 50, 0, 0, 0, 70, 0);
    const meter = new CpuMeter(42, proc.read);
    meter.start();
    proc.process(150, 150);
    // 150 busy ticks of 200, the guest's 999 counted in user already.
    proc.machine(200, 0, 100, 850, 50, 0, 0, 0, 999, 0);
    meter.stop();
    expect(meter.figures.serverCpuMs).toBeGreaterThan(0);
    expect(meter.figures.busyCores).toBeCloseTo(0.75 * os.cpus().length);
  });

  it("without /proc, reports nothing measured instead of throwing", () => {
    const none: ProcReader = () => undefined;
    const meter = new CpuMeter(42, none);
    meter.start();
    meter.stop();
    expect(meter.figures).toEqual({ serverCpuMs: undefined, busyCores: undefined });
    expect(cpuTimeOf(42, none)()).toBeUndefined();
  });

  it("leaves the server out when the bench did not start it", () => {
    const proc = fakeProc();
    proc.machine(1, 0, 0, 1, 0, 0, 0, 0, 0, 0);
    const meter = new CpuMeter(undefined, proc.read);
    meter.start();
    proc.machine(2, 0, 0, 3, 0, 0, 0, 0, 0, 0);
    meter.stop();
    expect(meter.figures.serverCpuMs).toBeUndefined();
    expect(meter.figures.busyCores).toBeCloseTo(os.cpus().length / 3);
  });
});
