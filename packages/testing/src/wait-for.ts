import { ZooKeeperTestingError } from "./errors.js";

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Deadline in milliseconds. Default 10000. */
  timeoutMs?: number;
  /** Pause between attempts in milliseconds. Default 100. */
  intervalMs?: number;
  /** Describes the condition in the timeout error. */
  message?: string;
}

/**
 * Polls `condition` until it returns a value other than `undefined`, `null` or `false`, and resolves
 * with that value; a thrown error counts as "not yet". Rejects with a `TIMEOUT`
 * {@link ZooKeeperTestingError} (whose `cause` is the last error) when the deadline passes. Use it
 * instead of sleeping and hoping.
 *
 * @example
 * ```ts
 * const leader = await waitFor(() => ensemble.leader(), { timeoutMs: 30_000, message: "a leader" });
 * ```
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options?: WaitForOptions,
): Promise<Exclude<T, undefined | null | false>> {
  const timeoutMs = options?.timeoutMs ?? 10_000;
  const intervalMs = options?.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false)
        return value as Exclude<T, undefined | null | false>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const what = options?.message ?? "the condition";
      throw new ZooKeeperTestingError("TIMEOUT", `Timed out after ${timeoutMs} ms waiting for ${what}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
