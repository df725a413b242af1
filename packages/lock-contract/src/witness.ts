import { waitFor } from "@zk-dist-lock/testing";
import { CONTRACT_PERMITS, type ContractHold } from "./lock-adapter.js";

/**
 * Whether a run holding `hold` may be inside while `ahead` (the runs queued before it that have not
 * finished yet, inside or still waiting) are there: the rule of a first-come-first-served queue.
 * An exclusive run has nobody ahead; a shared run has only shared runs ahead (so it neither
 * overlaps a writer nor passes a waiting one); a permit has fewer than `CONTRACT_PERMITS` ahead.
 */
function admits(hold: ContractHold, ahead: ContractHold[]): boolean {
  if (hold === "semaphore") return ahead.length < CONTRACT_PERMITS;
  if (hold === "shared") return ahead.every((other) => other === "shared");
  return ahead.length === 0;
}

/** A run's place in a {@link Witness}'s queue: its work enters through `section`. */
export interface Place {
  section<T>(body: () => Promise<T>): Promise<T>;
}

/**
 * Watches works enter and leave their critical sections, in the order their runs queued (call
 * `place()` when a run starts, once the run before it has queued). A work that enters while a run
 * ahead of it that it may not be with (see `admits`) has not finished is recorded in `violations`:
 * two writers together, a writer with a reader, a reader that passed a waiting writer, one permit
 * too many. Whatever the timing, a broken lock shows up there.
 */
export class Witness {
  inside = 0;
  readonly violations: string[] = [];
  readonly #queue: { hold: ContractHold; finished: boolean }[] = [];

  place(hold: ContractHold): Place {
    const index = this.#queue.length;
    const run = { hold, finished: false };
    this.#queue.push(run);
    return {
      section: async (body) => {
        const ahead = this.#queue.slice(0, index).flatMap((other) => (other.finished ? [] : [other.hold]));
        if (!admits(hold, ahead)) {
          this.violations.push(`run ${index} (${hold}) entered while runs ahead had not finished: ${ahead}`);
        }
        this.inside += 1;
        try {
          return await body();
        } finally {
          this.inside -= 1;
          run.finished = true;
        }
      },
    };
  }
}

/**
 * A meeting point for `count` works: `arrive()` resolves once all of them have arrived, and rejects
 * after the deadline, so works that cannot run at the same time fail instead of hanging.
 */
export function barrier(count: number, timeoutMs = 10_000) {
  let arrived = 0;
  return {
    async arrive(): Promise<void> {
      arrived += 1;
      await waitFor(() => arrived >= count, {
        timeoutMs,
        intervalMs: 10,
        message: `${count} works inside their locks at once (${arrived} arrived)`,
      });
    },
  };
}
