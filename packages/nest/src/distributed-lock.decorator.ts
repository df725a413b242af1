import { checkLockOptions, type LockMode } from "@zk-dist-lock/core";
import { runWithCurrentLock } from "./current-lock.js";
import {
  checkKey,
  type DistributedLockKey,
  keyedMethod,
  withDefaults,
  withResourceOf,
} from "./keyed-method.js";
import type { ZkLockDefaults } from "./zk-lock-options.interface.js";

export type { DistributedLockKey } from "./keyed-method.js";

/** Per-method overrides of the module defaults, and the lock's mode. */
export interface DistributedLockOptions extends ZkLockDefaults {
  /**
   * `"exclusive"` (the default): one call at a time on the key. `"shared"`: together with every
   * other shared call on the key and never with an exclusive one, such as reads beside writes;
   * first come, first served, so a stream of shared calls never starves an exclusive one.
   */
  mode?: LockMode;
}

/**
 * Runs the method holding a distributed lock on `key`, on any provider: services, controllers,
 * scheduled jobs, queue consumers. The lock is released however the method ends. Concurrent calls,
 * in this process or in other instances of the application, run one at a time; with
 * `mode: "shared"` shared calls run together, and never with an exclusive call on the key. A
 * decorated method called (directly or indirectly) by another that holds the same resource joins
 * that hold (an exclusive call inside a shared hold is refused with `CONFLICT`: it would wait for
 * itself).
 *
 * The decorated method always returns a Promise, even when its body is synchronous: declare it
 * `async` so its callers' types say so. Read the fencing token and lost-lock signal with
 * `currentLock()`. Metadata of other decorators (`@Get()`, `@Cron()`, `@OnEvent()`…) stays on the
 * method, whichever order the decorators are written in.
 *
 * Needs `ZkLockModule`: without it, the application fails at bootstrap.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class OrderService {
 *   @DistributedLock((orderId: string) => `order:${orderId}`, { acquireTimeout: 2000 })
 *   async ship(orderId: string) {
 *     const { token, signal } = currentLock();
 *     await this.orders.update(orderId, { status: "shipped" }, { fence: token, signal });
 *   }
 *
 *   @DistributedLock((orderId: string) => `order:${orderId}`, { mode: "shared" })
 *   async show(orderId: string) {
 *     return this.orders.get(orderId);
 *   }
 * }
 * ```
 */
export function DistributedLock<A extends unknown[] = []>(
  key: DistributedLockKey<A>,
  options: DistributedLockOptions = {},
) {
  checkKey("@DistributedLock()", key);
  // When the class is defined, as the key is, rather than at the method's first call.
  checkLockOptions(options, "@DistributedLock() options");
  const optionsFor = withDefaults(options);
  return keyedMethod<A>("@DistributedLock()", key, (binding, resource, method) =>
    binding.manager.withLock(
      resource,
      (context) => runWithCurrentLock(withResourceOf(context, "lock", resource), method),
      optionsFor(binding),
    ),
  );
}
