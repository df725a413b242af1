// The two recipes whose holders may overlap: a read-mostly lock (shared holds, an exclusive one now
// and then) and a semaphore. K sessions take turns at one resource; a witness counts who holds at
// once. The one-event-loop runner is here; the K-processes mode records holds (fleet-child.ts) and
// replays them through the same witness (`fromSharingHolds`).
import { setTimeout as sleep, setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { ZkLockManager } from "@zk-dist-lock/core";
import { seededRandom } from "@zk-dist-lock/testing";
import type { CpuMeter } from "../cpu-time.js";
import type { SessionRecord } from "./fleet-protocol.js";
import { cpuMsSince } from "./types.js";

/**
 * What the sessions take. `read-mostly`: each cycle a lock, exclusive with probability `writeShare`
 * and shared otherwise, drawn from `seededRandom(seed + session)` — the same choices in every
 * implementation (`java/CuratorBench.java` has the same generator). `semaphore`: one of `permits`,
 * held for `holdMs`.
 */
export type Sharing =
  | { kind: "read-mostly"; seed: number; writeShare: number }
  | { kind: "semaphore"; permits: number; holdMs: number };

/**
 * The critical section. It yields, so that other sessions' replies and watches are processed while
 * it is held and a holder let in wrongly meets the witness. A semaphore's holds also last `holdMs`:
 * a hold that only yields is over before a second one begins (a permit is busy mostly with the
 * protocol's round trips), and a witness of "at most P at once" needs holders that overlap.
 */
export const criticalSection = (sharing: Sharing | undefined): Promise<unknown> =>
  sharing?.kind === "semaphore" && sharing.holdMs > 0 ? sleep(sharing.holdMs) : yieldToEventLoop();

/** What K sessions taking turns at a shared resource measured. */
export interface SharingSample {
  elapsedMs: number;
  /** Holds per session, for fairness. */
  perSession: number[];
  /** Waits of the shared acquisitions: a read-mostly lock's reads, a semaphore's every permit. */
  waitsMs: number[];
  /** Waits of a read-mostly lock's exclusive acquisitions (none for a semaphore). */
  writeWaitsMs: number[];
  /** Most shared holders at once: readers, or a semaphore's permits in use. */
  maxHolders: number;
  /** Holds begun where they must not: beside an exclusive hold, or with every permit held. 0 or broken. */
  overlaps: number;
  /** K processes, read-mostly: grants whose token broke the order core documents (see `fromSharingHolds`). */
  tokenViolations?: number;
  /** User + system CPU time of the implementation's own processes while the sessions looped; undefined for a JVM without /proc. */
  cpuMs: number | undefined;
}

/** The part of a lock or semaphore handle the loops use. */
interface Handle {
  acquire(): Promise<bigint>;
  release(): Promise<void>;
}

/** One hold a session is about to take. */
export interface Turn {
  handle: Handle;
  exclusive: boolean;
}

/**
 * Session `index`'s handles on `rootDir`/`resource` and the choice of its next turn. A read-mostly
 * session keeps a shared and an exclusive handle, which queue as two owners would; one turn uses one.
 */
export function sharingTurns(
  manager: ZkLockManager,
  rootDir: string,
  resource: string,
  sharing: Sharing,
  index: number,
): () => Turn {
  if (sharing.kind === "semaphore") {
    const turn = {
      handle: manager.createSemaphore(resource, { rootDir, permits: sharing.permits }),
      exclusive: false,
    };
    return () => turn;
  }
  const read = { handle: manager.createLock(resource, { rootDir, mode: "shared" }), exclusive: false };
  const write = { handle: manager.createLock(resource, { rootDir }), exclusive: true };
  const random = seededRandom(sharing.seed + index);
  return () => (random() < sharing.writeShare ? write : read);
}

/**
 * Who holds at once. A hold that begins beside an exclusive one, an exclusive one that begins beside
 * any, or a permit taken while every permit is held, is an overlap; `maxHolders` is the most shared
 * holders seen together.
 */
export class Witness {
  overlaps = 0;
  maxHolders = 0;
  #shared = 0;
  #exclusive = 0;
  readonly #limit: number;

  constructor(sharing: Sharing) {
    this.#limit = sharing.kind === "semaphore" ? sharing.permits : Number.POSITIVE_INFINITY;
  }

  enter(exclusive: boolean): void {
    if (this.#exclusive > 0 || (exclusive && this.#shared > 0) || this.#shared >= this.#limit)
      this.overlaps++;
    if (exclusive) this.#exclusive++;
    else this.maxHolders = Math.max(this.maxHolders, ++this.#shared);
  }

  leave(exclusive: boolean): void {
    if (exclusive) this.#exclusive--;
    else this.#shared--;
  }
}

/** K sessions, one manager each, on this process's one event loop, taking turns at `rootDir`/`resource` for `durationMs`. */
export async function shareOneLoop(
  managers: readonly ZkLockManager[],
  rootDir: string,
  resource: string,
  durationMs: number,
  sharing: Sharing,
  meter: CpuMeter,
): Promise<SharingSample> {
  const witness = new Witness(sharing);
  const perSession = managers.map(() => 0);
  const waitsMs: number[] = [];
  const writeWaitsMs: number[] = [];
  meter.start();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    managers.map(async (manager, session) => {
      const next = sharingTurns(manager, rootDir, resource, sharing, session);
      while (performance.now() < deadline) {
        const { handle, exclusive } = next();
        const t0 = performance.now();
        await handle.acquire();
        (exclusive ? writeWaitsMs : waitsMs).push(performance.now() - t0);
        witness.enter(exclusive);
        await criticalSection(sharing);
        witness.leave(exclusive);
        perSession[session]!++;
        await handle.release();
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  const cpuMs = cpuMsSince(cpu);
  meter.stop();
  const { overlaps, maxHolders } = witness;
  return { elapsedMs, perSession, waitsMs, writeWaitsMs, maxHolders, overlaps, cpuMs };
}

/**
 * The K-processes mode's figures from every session's recorded holds (on the machine's monotonic
 * clock): each hold enters the witness when its acquire() resolved and leaves when its release()
 * was called, a leave before an enter at the same microsecond. A recorded hold lies inside the real
 * one, so an overlap found is real.
 *
 * Tokens of a read-mostly lock, in grant order: an exclusive hold's is above every earlier hold's,
 * a shared hold's above every earlier exclusive hold's (core's README, "Shared locks").
 */
export function fromSharingHolds(
  records: readonly SessionRecord[],
  sharing: Sharing,
): Omit<SharingSample, "elapsedMs" | "cpuMs"> {
  const holds = records.flatMap((record) =>
    record.tokens.map((token, i) => ({
      t0: record.holds[3 * i]!,
      t1: record.holds[3 * i + 1]!,
      t2: record.holds[3 * i + 2]!,
      token: BigInt(token),
      exclusive: record.modes[i] === "x",
    })),
  );
  const events = holds.flatMap((hold) => [
    { at: hold.t1, enter: true, exclusive: hold.exclusive },
    { at: hold.t2, enter: false, exclusive: hold.exclusive },
  ]);
  events.sort((a, b) => a.at - b.at || Number(a.enter) - Number(b.enter));
  const witness = new Witness(sharing);
  for (const event of events) {
    if (event.enter) witness.enter(event.exclusive);
    else witness.leave(event.exclusive);
  }
  holds.sort((a, b) => a.t1 - b.t1);
  let tokenViolations = 0;
  let highest = -1n;
  let highestExclusive = -1n;
  for (const hold of holds) {
    if (hold.token <= (hold.exclusive ? highest : highestExclusive)) tokenViolations++;
    if (hold.token > highest) highest = hold.token;
    if (hold.exclusive && hold.token > highestExclusive) highestExclusive = hold.token;
  }
  const waits = (exclusive: boolean) =>
    holds.filter((hold) => hold.exclusive === exclusive).map((hold) => (hold.t1 - hold.t0) / 1000);
  return {
    perSession: records.map((record) => record.tokens.length),
    waitsMs: waits(false),
    writeWaitsMs: waits(true),
    maxHolders: witness.maxHolders,
    overlaps: witness.overlaps,
    ...(sharing.kind === "read-mostly" && { tokenViolations }),
  };
}
