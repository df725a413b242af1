import type { SemaphoreContext } from "@zk-dist-lock/core";
import { contextSlot } from "./context-slot.js";

/** The permit of the innermost `@DistributedSemaphore()` method running in the current async call chain. */
export interface CurrentPermit extends SemaphoreContext {
  /** The resource (the decorator's key) the permit is of. */
  resource: string;
}

const permits = contextSlot<CurrentPermit>(
  "currentPermit() was called outside a method decorated with @DistributedSemaphore() (or what such a method calls).",
);

/** Runs `fn` with `permit` as what {@link currentPermit} returns. */
export function runWithCurrentPermit<T>(permit: CurrentPermit, fn: () => T): T {
  return permits.run(permit, fn);
}

/**
 * The token, lost-permit signal and semaphore of the innermost `@DistributedSemaphore()` method
 * that is running in the current async call chain (that method's body and everything it calls).
 * The token follows the semaphore's queue (above the tokens of the permits queued before it, below
 * those queued after), and orders nothing else: not holders at the same time, and it does not
 * fence one holder from another. Throws `LockError` with code `NOT_HELD` elsewhere.
 *
 * @example
 * ```ts
 * @DistributedSemaphore("geocoder-api", { permits: 5 })
 * async lookup(address: string) {
 *   const { signal } = currentPermit();
 *   return this.api.geocode(address, { signal }); // stops when the permit is lost
 * }
 * ```
 */
export function currentPermit(): CurrentPermit {
  return permits.get();
}
