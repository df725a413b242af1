/**
 * `zk-dist-lock` is the announced install name; it is exactly `@zk-dist-lock/core`.
 *
 * @example
 * ```ts
 * import { ZkLockManager, type LockOptions } from "zk-dist-lock";
 * ```
 */
export * from "@zk-dist-lock/core";
