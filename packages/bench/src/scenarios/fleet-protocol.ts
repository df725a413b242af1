// What fleet.ts and its processes (fleet-child.ts) say to each other over the IPC channel.
import type { Sharing } from "./sharing.js";
import type { CoreName } from "./types.js";

/**
 * `contend`: every session loops acquire, a critical section that yields, release, and records
 * each hold. `cycle`: every session loops acquire+release and records each cycle's time.
 * A `contend` with `sharing` takes core's shared locks or semaphore instead of the mutex; a
 * process's session i draws its read-mostly choices as session `sharing.seed + i` would.
 */
export type FleetKind = "contend" | "cycle";

/**
 * A measurement is three commands, each answered once every session is done with it: `open` the
 * sessions, `go` (loop until the deadline, or until the process's sessions made `holds` holds
 * between them; answered with the records), `close` the sessions. The answer to `go` comes before
 * the sessions close, so that the parent's CPU meter stops with the loops.
 */
export type ToChild =
  | { type: "open"; connect: string; impl: CoreName; kind: FleetKind; paths: string[]; sharing?: Sharing }
  | { type: "go"; deadlineUs: number }
  | { type: "go"; holds: number }
  | { type: "close" };

/** One session's record of a loop. Times are microseconds of {@link monotonicUs}. */
export interface SessionRecord {
  /** `contend`: per hold, acquire() called, acquire() resolved, release() called: three numbers each. */
  holds: number[];
  /** `contend`: each hold's fencing token, in decimal. */
  tokens: string[];
  /** `contend`: each hold's mode, one character each: `x` exclusive, `s` shared (or a permit). */
  modes: string;
  /** `cycle`: each acquire+release cycle, in milliseconds. */
  cyclesMs: number[];
}

export type FromChild =
  | { type: "up" }
  | { type: "opened" }
  | { type: "done"; sessions: SessionRecord[]; cpuMs: number; finishUs: number }
  | { type: "closed" }
  | { type: "error"; message: string };

/**
 * Microseconds of the system's monotonic clock (`CLOCK_MONOTONIC`), which every process on the
 * machine shares: holds recorded in different processes are compared on it.
 */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);
