// What happened during a soak, on one time line, and the checks that read it: whether two holders
// whose holds were still valid ever overlapped, whether an acquire overran its timeout, and how long
// the work stalled after each fault.

/** What changed about a hold, as its worker reported it (or, for `frozen` and `killed`, the soak saw). */
export type HoldEventKind = "suspended" | "reconnected" | "lost" | "frozen" | "released" | "killed";

/** One hold: a worker's acquisition of a resource, from `acquire()` to `release()` or its death. */
export interface Hold {
  /** The worker process: its slot and its incarnation (a restart after SIGKILL is a new one). */
  worker: string;
  resource: string;
  token: bigint;
  acquiredAt: number;
  events: { kind: HoldEventKind; at: number }[];
}

/** What a hold's own process could rightly believe at a moment. */
export type HoldState = "valid" | "suspended" | "lost" | "frozen" | "closed";

/**
 * The state of `hold` at `at`. Valid from the acquisition until the worker hears of doubt
 * (suspended) or of the loss, and again after a reconnect within the session. A pause or a stall of
 * its process (frozen) ends what the lock can promise it for good: a process that does not run
 * cannot notice anything, and after it wakes only the fencing token protects the data.
 */
export function stateAt(hold: Hold, at: number): HoldState {
  if (at < hold.acquiredAt) return "closed";
  let state: HoldState = "valid";
  for (const event of hold.events) {
    if (event.at > at) break;
    if (event.kind === "released" || event.kind === "killed") return "closed";
    if (event.kind === "lost") state = "lost";
    else if (event.kind === "frozen" && state !== "lost") state = "frozen";
    else if (event.kind === "suspended" && state === "valid") state = "suspended";
    else if (event.kind === "reconnected" && state === "suspended") state = "valid";
  }
  return state;
}

/** Two holds of one resource at one moment. */
export interface Overlap {
  resource: string;
  at: number;
  /** The hold that became valid at `at` (acquired, or reconnected). */
  newer: Hold;
  /** The other hold, open at `at`, and what its own process believed. */
  older: Hold;
  olderState: Exclude<HoldState, "closed">;
}

/**
 * Overlaps by what the older holder believed: only `valid` ones break mutual exclusion. The others
 * count the older holds whose lock passed on meanwhile, each once.
 */
export interface OverlapSummary {
  violations: Overlap[];
  /** The older holder was frozen (paused, stalled) and not told: the fencing token's job. */
  frozen: number;
  /** The older holder had been told its hold was in doubt (suspended) or lost. */
  toldSuspended: number;
  toldLost: number;
}

/**
 * Finds every moment at which a hold became valid (its acquisition, a reconnect) while another hold
 * of the same resource was open, and sorts them by what the other holder believed. Two valid holds
 * overlap exactly when one becomes valid inside the other's validity, so these moments suffice.
 *
 * @example
 * ```ts
 * const { violations } = findOverlaps(holds);
 * if (violations.length > 0) process.exitCode = 1;
 * ```
 */
export function findOverlaps(holds: readonly Hold[]): OverlapSummary {
  const violations: Overlap[] = [];
  const others = { frozen: new Set<Hold>(), suspended: new Set<Hold>(), lost: new Set<Hold>() };
  const byResource = new Map<string, Hold[]>();
  for (const hold of holds) byResource.set(hold.resource, [...(byResource.get(hold.resource) ?? []), hold]);
  for (const [resource, list] of byResource) {
    list.sort((a, b) => a.acquiredAt - b.acquiredAt);
    // Holds end when released or their process dies; none outlasts the longest one.
    const longest = Math.max(...list.map((hold) => (hold.events.at(-1)?.at ?? Infinity) - hold.acquiredAt));
    list.forEach((newer, index) => {
      const moments = [
        newer.acquiredAt,
        ...newer.events.filter((event) => event.kind === "reconnected").map((event) => event.at),
      ].filter((at) => stateAt(newer, at) === "valid");
      for (const at of moments) {
        for (let i = index - 1; i >= 0 && list[i]!.acquiredAt >= at - longest; i--) {
          check(list[i]!, newer, at, resource);
        }
        // A reconnect may come after later holds were acquired.
        for (let i = index + 1; i < list.length && list[i]!.acquiredAt <= at; i++)
          check(list[i]!, newer, at, resource);
      }
    });
  }
  return {
    violations,
    frozen: others.frozen.size,
    toldSuspended: others.suspended.size,
    toldLost: others.lost.size,
  };

  function check(older: Hold, newer: Hold, at: number, resource: string): void {
    if (older === newer) return;
    const olderState = stateAt(older, at);
    if (olderState === "closed") return;
    if (olderState === "valid") violations.push({ resource, at, newer, older, olderState });
    else others[olderState].add(older);
  }
}

/** One `acquire()` call, from its start to its result. */
export interface AcquireRecord {
  worker: string;
  resource: string;
  startedAt: number;
  settledAt: number;
  outcome: string;
}

/** A span during which a worker's process did not run: paused by the soak, or stalled. */
export interface Freeze {
  worker: string;
  from: number;
  to: number;
}

/** The acquires that took longer than `limitMs` while their process ran all along. */
export function overdueAcquires(
  acquires: readonly AcquireRecord[],
  freezes: readonly Freeze[],
  limitMs: number,
): AcquireRecord[] {
  return acquires.filter(
    (acquire) =>
      acquire.settledAt - acquire.startedAt > limitMs &&
      !freezes.some(
        (freeze) =>
          freeze.worker === acquire.worker &&
          freeze.from < acquire.settledAt &&
          freeze.to > acquire.startedAt,
      ),
  );
}

/** A fault as the schedule injected it. */
export interface FaultRecord {
  kind: string;
  at: number;
  /** What it hit, for the log. */
  target: string;
}

/**
 * For each fault, the longest time during which some resource saw no fenced write, counted from the
 * fault until the next one (or `endAt`): how long the fault stalled the work.
 */
export function stallsAfterFaults(
  faults: readonly FaultRecord[],
  writeTimes: readonly (readonly number[])[],
  endAt: number,
): { fault: FaultRecord; stallMs: number }[] {
  return faults.map((fault, i) => {
    const until = faults[i + 1]?.at ?? endAt;
    let stallMs = 0;
    for (const times of writeTimes) {
      let last = fault.at;
      for (const at of times) {
        if (at <= fault.at) continue;
        if (at > until) break;
        stallMs = Math.max(stallMs, at - last);
        last = at;
      }
      stallMs = Math.max(stallMs, until - last);
    }
    return { fault, stallMs };
  });
}
