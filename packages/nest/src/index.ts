/**
 * `@zk-dist-lock/nest`: `ZkLockModule` and, on any NestJS provider method, `@DistributedLock()` (a
 * ZooKeeper distributed lock, exclusive or shared), `@DistributedSemaphore()` (at most N calls at
 * once), `@LeaderOnly()` (run only on the instance that leads) and `@OncePerFiring()` (run each
 * scheduled firing on exactly one instance).
 *
 * @example
 * ```ts
 * import { Injectable, Module } from "@nestjs/common";
 * import { currentLock, DistributedLock, ZkLockModule } from "@zk-dist-lock/nest";
 *
 * @Injectable()
 * class OrderService {
 *   @DistributedLock((orderId: string) => `order:${orderId}`)
 *   async ship(orderId: string) {
 *     const { token } = currentLock();
 *     // write with fence `token`
 *   }
 * }
 *
 * @Module({ imports: [ZkLockModule.forRoot({ connect: "127.0.0.1:2181" })], providers: [OrderService] })
 * export class AppModule {}
 * ```
 */
export { type CurrentLock, currentLock } from "./current-lock.js";
export { type CurrentPermit, currentPermit } from "./current-permit.js";
export {
  DistributedLock,
  type DistributedLockKey,
  type DistributedLockOptions,
} from "./distributed-lock.decorator.js";
export { DistributedSemaphore, type DistributedSemaphoreOptions } from "./distributed-semaphore.decorator.js";
export { InjectLockManager } from "./inject-lock-manager.decorator.js";
export {
  type CurrentTerm,
  currentTerm,
  LeaderOnly,
  type LeaderOnlyOptions,
} from "./leader-only.decorator.js";
export { LockExceptionFilter, type LockExceptionFilterOptions } from "./lock-exception.filter.js";
export {
  type CurrentFiring,
  currentFiring,
  OncePerFiring,
  type OncePerFiringOptions,
} from "./once-per-firing.decorator.js";
export type { SkipLog } from "./skip-log.js";
export { ZK_LOCK_MODULE_OPTIONS } from "./zk-lock.constants.js";
export { type ZkLockHealth, ZkLockHealthError, ZkLockHealthIndicator } from "./zk-lock.health.js";
export { ZkLockModule } from "./zk-lock.module.js";
export type {
  ZkLockClientOptions,
  ZkLockClock,
  ZkLockCommonOptions,
  ZkLockConnectOptions,
  ZkLockDefaults,
  ZkLockManagerOptions,
  ZkLockModuleAsyncOptions,
  ZkLockModuleOptions,
  ZkLockRegistration,
} from "./zk-lock-options.interface.js";
