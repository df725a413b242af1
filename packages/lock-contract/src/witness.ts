import { waitFor } from "@zk-dist-lock/testing";

/**
 * Counts the works inside their critical section at once and the most there ever were: overlap
 * shows up as `max > 1`, whatever the timing.
 */
export class Witness {
  inside = 0;
  max = 0;
  entries = 0;

  async section<T>(body: (entry: number) => Promise<T>): Promise<T> {
    this.inside += 1;
    this.entries += 1;
    this.max = Math.max(this.max, this.inside);
    try {
      return await body(this.entries);
    } finally {
      this.inside -= 1;
    }
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
