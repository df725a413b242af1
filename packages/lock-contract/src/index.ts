/**
 * `@zk-dist-lock/lock-contract` (private): the one contract test suite that core `withLock()` and
 * `withSemaphore()`, the Nest `@DistributedLock()` and `@DistributedSemaphore()` decorators and the
 * Express `distributedLock()` and `distributedSemaphore()` middlewares all run, in three passes
 * (exclusive, shared, semaphore), and the client half of an adapter for HTTP integrations.
 *
 * @example
 * ```ts
 * // packages/core/test/contract.test.ts
 * import { describeLockContract, holdWithManager } from "@zk-dist-lock/lock-contract";
 * import { ZkLockManager } from "../src/index.js";
 *
 * describeLockContract(
 *   "core withLock() and withSemaphore()",
 *   async (manager, rootDir) => ({
 *     run: (key, hold, work) => holdWithManager(manager, key, hold, { rootDir }, ({ token }) => work(token)),
 *     close: async () => {},
 *   }),
 *   { createManager: () => new ZkLockManager() },
 * );
 * ```
 */
export { describeLockContract } from "./describe-lock-contract.js";
export { type HttpWork, HttpWorks, httpAdapter } from "./http-adapter.js";
export {
  CONTRACT_HOLDS,
  CONTRACT_PERMITS,
  type ContractHold,
  type ContractManager,
  type ContractOptions,
  type LockAdapter,
  type MakeAdapter,
} from "./lock-adapter.js";
export { holdWithManager } from "./manager-hold.js";
