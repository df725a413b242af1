/**
 * `@zk-dist-lock/lock-contract` (private): the one contract test suite that core `withLock()`, the
 * Nest `@DistributedLock()` decorator and the Express `distributedLock()` middleware all run, and
 * the client half of an adapter for HTTP integrations.
 *
 * @example
 * ```ts
 * // packages/core/test/contract.test.ts
 * import { describeLockContract } from "@zk-dist-lock/lock-contract";
 * import { ZkLockManager } from "../src/index.js";
 *
 * describeLockContract(
 *   "core withLock()",
 *   async (manager, rootDir) => ({
 *     run: (key, work) => manager.withLock(key, ({ token }) => work(token), { rootDir }),
 *     close: async () => {},
 *   }),
 *   { createManager: () => new ZkLockManager() },
 * );
 * ```
 */
export { describeLockContract } from "./describe-lock-contract.js";
export { type HttpWork, HttpWorks, httpAdapter } from "./http-adapter.js";
export type { ContractManager, ContractOptions, LockAdapter, MakeAdapter } from "./lock-adapter.js";
