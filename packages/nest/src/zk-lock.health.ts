import { Inject, Injectable } from "@nestjs/common";
import type { ConnectionState } from "@zk-dist-lock/core";
import { ZK_LOCK_BINDING } from "./zk-lock.constants.js";
import type { ZkLockBinding } from "./zk-lock-binding.js";

/** What {@link ZkLockHealthIndicator.isHealthy} reports under its key, as `@nestjs/terminus` shows it. */
export interface ZkLockHealth {
  status: "up" | "down";
  /** The manager's connection state. */
  state: ConnectionState;
  /** The ZooKeeper session (hex) while connected. */
  sessionId?: string;
}

/**
 * Thrown by {@link ZkLockHealthIndicator.isHealthy} when ZooKeeper is not connected. It carries
 * `causes` the way `@nestjs/terminus`'s `HealthCheckError` does, which is what terminus looks for,
 * so this package needs no dependency on terminus.
 */
export class ZkLockHealthError extends Error {
  override name = "ZkLockHealthError";
  constructor(
    message: string,
    readonly causes: Record<string, ZkLockHealth>,
  ) {
    super(message);
  }
}

/**
 * Reports whether the lock manager is connected to ZooKeeper, for a readiness check: an instance
 * without a connection cannot take locks (its locked calls fail with `CONNECTION`), so it should
 * get no traffic until it has one. Provided and exported by `ZkLockModule`.
 *
 * @example
 * ```ts
 * @Controller("health")
 * class HealthController {
 *   constructor(
 *     private readonly health: HealthCheckService, // from @nestjs/terminus
 *     private readonly zookeeper: ZkLockHealthIndicator,
 *   ) {}
 *
 *   @Get("ready")
 *   @HealthCheck()
 *   ready() {
 *     return this.health.check([() => this.zookeeper.isHealthy("zookeeper")]);
 *   }
 * }
 * ```
 */
@Injectable()
export class ZkLockHealthIndicator {
  constructor(@Inject(ZK_LOCK_BINDING) private readonly binding: ZkLockBinding) {}

  /**
   * `{ [key]: { status: "up", state: "connected", sessionId } }` while connected; otherwise throws
   * a {@link ZkLockHealthError} whose `causes` say `{ [key]: { status: "down", state } }`.
   */
  isHealthy(key = "zookeeper"): Record<string, ZkLockHealth> {
    const { manager } = this.binding;
    const state = manager.connectionState;
    if (state !== "connected") {
      throw new ZkLockHealthError(`ZooKeeper is not connected (${state}).`, {
        [key]: { status: "down", state },
      });
    }
    return { [key]: { status: "up", state, sessionId: manager.sessionId } };
  }
}
