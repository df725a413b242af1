/**
 * `@zk-dist-lock/client`: a ZooKeeper client in TypeScript, without native code.
 *
 * @example
 * ```ts
 * import { ZooKeeperClient, isZooKeeperError } from "@zk-dist-lock/client";
 *
 * const zk = await ZooKeeperClient.connect("127.0.0.1:2181", { sessionTimeout: 10_000 });
 * try {
 *   await zk.create("/app", "hello");
 * } catch (error) {
 *   if (!isZooKeeperError(error, "NODEEXISTS")) throw error;
 * }
 * const { data, stat } = await zk.getData("/app");
 * await zk.close();
 * ```
 */
export { CREATOR_ALL_ACL, digestId, OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE } from "./acl.js";
export {
  type ClientEvents,
  type ClientState,
  type RemoveWatchesType,
  type StateChange,
  type WatchOptions,
  ZooKeeperClient,
} from "./client.js";
export {
  isZooKeeperError,
  type MultiOpOutcome,
  resultCodes,
  ZooKeeperError,
  type ZooKeeperErrorCode,
  type ZooKeeperErrorOptions,
  ZooKeeperMultiError,
} from "./errors.js";
export type { CreateMode, CreateOptions, CreateResult, Data, MultiOp, MultiResult } from "./operations.js";
export type { AuthInfo, StartOptions, ZooKeeperClientOptions } from "./options.js";
export type { Acl, Stat } from "./protocol.js";
export type { WatchEvent, WatchEventType, Watcher } from "./watches.js";
