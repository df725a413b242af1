import { checkLockOptions, LockInvalidArgumentError } from "@zk-dist-lock/core";
import { runWithCurrentLock } from "./current-lock.js";
import { bindingOf, decorateMethod, finishWrapper, render } from "./decorated-method.js";
import type { ZkLockBinding } from "./zk-lock-binding.js";
import type { ZkLockDefaults } from "./zk-lock-options.interface.js";

/** Per-method overrides of the module defaults. */
export type DistributedLockOptions = ZkLockDefaults;

/**
 * The resource to lock: a fixed string, or a function of the method's arguments (in order; it may
 * take fewer than the method has) that returns a non-empty string.
 */
export type DistributedLockKey<A extends unknown[]> = string | ((...args: A) => string);

/**
 * Runs the method holding a distributed lock on `key`, on any provider: services, controllers,
 * scheduled jobs, queue consumers. The lock is released however the method ends. Concurrent calls,
 * in this process or in other instances of the application, run one at a time; a decorated method
 * called (directly or indirectly) by another that holds the same resource joins that hold.
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
 * }
 * ```
 */
export function DistributedLock<A extends unknown[] = []>(
  key: DistributedLockKey<A>,
  options: DistributedLockOptions = {},
) {
  if (typeof key === "string" ? key === "" : typeof key !== "function") {
    throw new LockInvalidArgumentError(
      `@DistributedLock() needs a non-empty string key or a function of the method's arguments; got ${render(key)}.`,
    );
  }
  // When the class is defined, as the key is, rather than at the method's first call.
  checkLockOptions(options, "@DistributedLock() options");
  return <M extends (...args: [...A, ...never[]]) => unknown>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    const { original, where } = decorateMethod("@DistributedLock()", target, propertyKey, descriptor);
    const resourceOf = (self: unknown, args: Parameters<M>): string => {
      if (typeof key === "string") return key;
      const resource: unknown = key.apply(self, args as unknown as A);
      if (typeof resource !== "string" || resource === "") {
        throw new LockInvalidArgumentError(
          `The key function of @DistributedLock() on ${where} returned ${render(resource)}; it must return a non-empty string.`,
        );
      }
      return resource;
    };
    // The module's defaults under this decorator's options, merged once per binding, not per call.
    const merged = new WeakMap<ZkLockBinding, DistributedLockOptions>();
    const lockOptionsFor = (binding: ZkLockBinding): DistributedLockOptions => {
      let lockOptions = merged.get(binding);
      if (lockOptions === undefined) {
        lockOptions = { ...binding.defaults, ...options };
        merged.set(binding, lockOptions);
      }
      return lockOptions;
    };
    const locked = async function (this: unknown, ...args: Parameters<M>): Promise<unknown> {
      const binding = bindingOf(this, where, "@DistributedLock()");
      const resource = resourceOf(this, args);
      return binding.manager.withLock(
        resource,
        ({ token, lock }) =>
          runWithCurrentLock(
            {
              resource,
              token,
              lock,
              // Read on demand, as core's context does: most holds never need an AbortController.
              get signal() {
                return lock.signal;
              },
            },
            () => original.apply(this, args),
          ),
        lockOptionsFor(binding),
      );
    };
    descriptor.value = finishWrapper(original, locked) as unknown as M;
  };
}
