import { CONTRACT_PERMITS, type ContractHold, type ContractManager } from "./lock-adapter.js";

/**
 * Runs `fn` holding `hold` on `key` through the manager's own calls: `withLock()` in the lock's
 * mode, or `withSemaphore()` with `CONTRACT_PERMITS`. What core's adapter does, and what the
 * contract does inside a work to join (or be refused) the integration's hold.
 *
 * @example
 * ```ts
 * const adapter: LockAdapter = {
 *   run: (key, hold, work) => holdWithManager(manager, key, hold, { rootDir }, ({ token }) => work(token)),
 *   close: async () => {},
 * };
 * ```
 */
export function holdWithManager<T>(
  manager: ContractManager,
  key: string,
  hold: ContractHold,
  options: { rootDir: string; timeout?: number },
  fn: (context: { token: bigint }) => T | Promise<T>,
): Promise<T> {
  return hold === "semaphore"
    ? manager.withSemaphore(key, fn, { ...options, permits: CONTRACT_PERMITS })
    : manager.withLock(key, fn, { ...options, mode: hold });
}
