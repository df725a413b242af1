/**
 * `@zk-dist-lock/core`: a distributed lock on Apache ZooKeeper with fencing tokens, re-entrancy,
 * timeouts and lost-lock signals, exclusive or shared; semaphores, leader elections and
 * once-per-firing claims on the same session.
 *
 * @example
 * ```ts
 * import { ZkLockManager, type LockOptions } from "@zk-dist-lock/core";
 *
 * const zkLock = await ZkLockManager.connect("127.0.0.1:2181", { sessionTimeout: 10_000 });
 * const lock = zkLock.createLock("resource", { rootDir: "/test", acquireTimeout: 2000 } satisfies LockOptions);
 * const token = await lock.acquire();
 * try {
 *   // work, fenced with `token`
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export { digestAcl, digestAuth, Perms } from "./acl.js";
export {
  type AcquireContext,
  type CleanupFailedMessage,
  channelNames,
  type HoldMessage,
  type HoldMode,
  type LostMessage,
  type Recipe,
} from "./channels.js";
export {
  isLockError,
  LeadershipLostError,
  LockError,
  type LockErrorCode,
  LockInvalidArgumentError,
  LockLostError,
  LockTimeoutError,
} from "./errors.js";
export type { OwnerInfo } from "./lock-node.js";
export {
  type AcquireOptions,
  type CreateLockOptions,
  checkLockOptions,
  checkSemaphoreOptions,
  type LockMode,
  type LockOptions,
  type SemaphoreOptions,
  type ZkClientKind,
} from "./options.js";
export type { Participant, ParticipantMode } from "./queue/participants.js";
export { checkElectionOptions, checkFiringClaimOptions } from "./recipes/check-options.js";
export {
  type ElectionEvents,
  type ElectionOptions,
  type ElectionState,
  type LeadOptions,
  type ObserveOptions,
  type Term,
  ZkElection,
} from "./recipes/election.js";
export { type FiringClaimOptions, ZkFiringClaims } from "./recipes/firing-claims.js";
export { ZkLock } from "./recipes/lock.js";
export type { LockState } from "./recipes/queue-handle.js";
export { ZkSemaphore } from "./recipes/semaphore.js";
export { decodeResource, encodeResource, MAX_RESOURCE_BYTES } from "./resource-name.js";
export type { ZooKeeperBindingClient } from "./session/binding-driver.js";
export type { ConnectionState, ConnectionStateChange } from "./session/connection.js";
export type { ZkAcl, ZkAuth } from "./session/zk-client.js";
export {
  type CallOptions,
  type LockContext,
  type LockEvent,
  type LockEvents,
  type LockInspection,
  type SemaphoreContext,
  type ZkClient,
  type ZkConnectOptions,
  ZkLockManager,
  type ZkLockManagerOptions,
} from "./zk-lock-manager.js";
