import { readFileSync } from "node:fs";
import type ZooKeeper from "zookeeper";
import { connectZooKeeper } from "../src/index.js";

/** Whether `pid` is a live process; a zombie (exited, not yet reaped) counts as dead. */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return stateOf(pid) !== "Z";
  } catch {
    return true;
  }
}

/** The state letter of a process in /proc: R running, S sleeping, T stopped, Z zombie, … */
export function stateOf(pid: number): string | undefined {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2)[0];
}

/** A connected `zookeeper` client; rejects if it does not connect within `timeoutMs`. */
export const connectClient = (connect: string, timeoutMs = 15_000): Promise<ZooKeeper> =>
  connectZooKeeper(connect, { connectTimeout: timeoutMs });

/** Resolves with `"timeout"` if `promise` has not settled after `ms`. */
export function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  return Promise.race([
    promise,
    new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms)),
  ]);
}
