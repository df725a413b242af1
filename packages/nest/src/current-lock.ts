import { AsyncLocalStorage } from "node:async_hooks";
import { type LockContext, LockError } from "@zk-dist-lock/core";

/** The hold of the innermost `@DistributedLock()` method running in the current async call chain. */
export interface CurrentLock extends LockContext {
  /** The resource (the decorator's key) the hold is on. */
  resource: string;
}

const holds = new AsyncLocalStorage<CurrentLock>();

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
  const hold = holds.getStore();
  if (hold === undefined) {
    throw new LockError(
      "NOT_HELD",
      "currentLock() was called outside a method decorated with @DistributedLock() (or what such a method calls).",
    );
  }
  return hold;
}
