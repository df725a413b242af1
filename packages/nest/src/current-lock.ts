import type { LockContext } from "@zk-dist-lock/core";
import { contextSlot } from "./context-slot.js";

/** The hold of the innermost `@DistributedLock()` method running in the current async call chain. */
export interface CurrentLock extends LockContext {
  /** The resource (the decorator's key) the hold is on. */
  resource: string;
}

const holds = contextSlot<CurrentLock>(
  "currentLock() was called outside a method decorated with @DistributedLock() (or what such a method calls).",
);

/** Runs `fn` with `hold` as what {@link currentLock} returns. */
export function runWithCurrentLock<T>(hold: CurrentLock, fn: () => T): T {
  return holds.run(hold, fn);
}

/**
 * The fencing token, lost-lock signal and lock of the innermost `@DistributedLock()` method that
 * is running in the current async call chain (that method's body and everything it calls). Throws
 * `LockError` with code `NOT_HELD` elsewhere.
 *
 * @example
 * ```ts
 * @DistributedLock((orderId: string) => `order:${orderId}`)
 * async ship(orderId: string) {
 *   const { token, signal } = currentLock();
 *   await this.orders.update(orderId, { status: "shipped" }, { fence: token, signal });
 * }
 * ```
 */
export function currentLock(): CurrentLock {
  return holds.get();
}
