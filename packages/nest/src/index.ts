/**
 * `@zk-dist-lock/nest`: `ZkLockModule` and `@DistributedLock()`, a ZooKeeper distributed lock on
 * any NestJS provider method.
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
export {
  DistributedLock,
  type DistributedLockKey,
  type DistributedLockOptions,
} from "./distributed-lock.decorator.js";
export { InjectLockManager } from "./inject-lock-manager.decorator.js";
export { LockExceptionFilter, type LockExceptionFilterOptions } from "./lock-exception.filter.js";
export { ZK_LOCK_MODULE_OPTIONS } from "./zk-lock.constants.js";
export { type ZkLockHealth, ZkLockHealthError, ZkLockHealthIndicator } from "./zk-lock.health.js";
export { ZkLockModule } from "./zk-lock.module.js";
export type {
  ZkLockClientOptions,
  ZkLockConnectOptions,
  ZkLockDefaults,
  ZkLockManagerOptions,
  ZkLockModuleAsyncOptions,
  ZkLockModuleOptions,
  ZkLockRegistration,
} from "./zk-lock-options.interface.js";
