import type { CpuMeter } from "../cpu-time.js";
import type { Sharing, SharingSample } from "./sharing.js";

/** What one block of uncontended acquire+release cycles measured. */
export interface CycleSample {
  elapsedMs: number;
  latenciesMs: number[];
  /** User + system CPU time of this process over the block, when the cycles ran in it. */
  cpuMs?: number;
}

/** What K sessions looping on one resource for a fixed time measured. */
export interface ContendedSample {
  elapsedMs: number;
  /** Times two holders were inside the critical section at once; anything but 0 is a broken lock. */
  overlaps: number;
  /** Acquisitions per session, for fairness. */
  perSession: number[];
  waitsMs: number[];
  /** From a holder's release() call to the next holder's acquire() resolving (acquisitions that began before that call). */
  handoffsMs: number[];
  /** Grants whose fencing token was not above the one granted before; where tokens are recorded (the fleet). */
  tokenViolations?: number;
  /** User + system CPU time of the implementation's own processes while the sessions looped; undefined for a JVM without /proc. */
  cpuMs: number | undefined;
}

/**
 * Which ZooKeeper client a Node implementation runs on: `client` is @zk-dist-lock/client (what
 * `ZkLockManager.connect()` makes by default), `binding` the npm `zookeeper` binding of the C client.
 */
export type ClientKind = "client" | "binding";
export const clientKinds: readonly ClientKind[] = ["client", "binding"];

/** zk-dist-lock on one of its two clients. */
export type CoreName = `core-${ClientKind}`;
export const coreNames: readonly CoreName[] = ["core-client", "core-binding"];
/** The client `name` runs on. */
export const clientOf = (name: CoreName): ClientKind => (name === "core-client" ? "client" : "binding");
/** Every implementation of the report: zk-dist-lock and the floor on each client, and Curator. */
export type ImplName = CoreName | `floor-${ClientKind}` | "curator";

/**
 * One lock implementation under test. Every scenario gets a fresh path under `root`, so that
 * "never used" means never used.
 */
export interface Contender {
  readonly name: ImplName;
  /** `cycles` acquire+release cycles of one client on the resource at `path`. */
  uncontended(path: string, cycles: number): Promise<CycleSample>;
  /** One acquire+release on each of `count` never-used resources under `root`; resolves to elapsed ms. */
  many(root: string, count: number): Promise<number>;
  /**
   * `sessions` sessions contending for the resource at `path` for `durationMs`; absent for the floor.
   * `meter` is started once the sessions are open and stopped before they close.
   */
  contended?(path: string, sessions: number, durationMs: number, meter: CpuMeter): Promise<ContendedSample>;
  /** `sessions` sessions taking turns at a read-mostly lock or a semaphore at `path`, metered as `contended`; absent for the floor. */
  share?(
    path: string,
    sessions: number,
    durationMs: number,
    sharing: Sharing,
    meter: CpuMeter,
  ): Promise<SharingSample>;
  close(): Promise<void>;
}

/** Milliseconds of user + system CPU time this process used since `start` (a `process.cpuUsage()`). */
export const cpuMsSince = (start: NodeJS.CpuUsage): number => {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1000;
};
