import { Inject } from "@nestjs/common";
import { ZkLockManager } from "@zk-dist-lock/core";

/**
 * Injects the `ZkLockManager` of `ZkLockModule`. Same as `@Inject(ZkLockManager)`, and as a
 * constructor parameter typed `ZkLockManager` with no decorator at all.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class ReportService {
 *   constructor(@InjectLockManager() private readonly locks: ZkLockManager) {}
 *
 *   build() {
 *     return this.locks.withLock("report:daily", ({ token }) => this.render(token));
 *   }
 * }
 * ```
 */
export function InjectLockManager(): PropertyDecorator & ParameterDecorator {
  return Inject(ZkLockManager);
}
