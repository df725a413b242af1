// Every retry loop in core waits between tries, longer each time, so that a failure that repeats
// at once (a misconfiguration, a server that answers but refuses) costs a few requests, not a spin.

/** Milliseconds to wait before retry number `retry` (1-based): 10, 20, 40, … up to `capMs`. */
export const backoffDelay = (retry: number, capMs = 1000): number =>
  Math.min(10 * 2 ** Math.max(0, retry - 1), capMs);

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
