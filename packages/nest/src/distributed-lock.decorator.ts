import "reflect-metadata";
import { Inject, Optional } from "@nestjs/common";
import { ModuleRef } from "@nestjs/core";
import { LockError, LockInvalidArgumentError } from "@zk-dist-lock/core";
import { runWithCurrentLock } from "./current-lock.js";
import { ZK_LOCK_BINDING } from "./zk-lock.constants.js";
import type { ZkLockBinding } from "./zk-lock-binding.js";
import type { ZkLockDefaults } from "./zk-lock-options.interface.js";

/** Per-method overrides of the module defaults. */
export type DistributedLockOptions = ZkLockDefaults;

/**
 * The resource to lock: a fixed string, or a function of the method's arguments (in order; it may
 * take fewer than the method has) that returns a non-empty string.
 */
export type DistributedLockKey<A extends unknown[]> = string | ((...args: A) => string);

// Where Nest puts the module's binding on each instance, and a property whose assignment proves
// that Nest created the instance: it is injected after the binding, so its setter can tell whether
// the binding arrived.
const BINDING = Symbol("@zk-dist-lock/nest:binding");
const BOOTSTRAP_CHECK = Symbol("@zk-dist-lock/nest:bootstrap-check");

interface Locked {
  [BINDING]?: ZkLockBinding;
}

const prepared = new WeakSet<object>();

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
  if (typeof options !== "object" || options === null) {
    throw new LockInvalidArgumentError(
      `@DistributedLock() options must be an object; got ${render(options)}.`,
    );
  }
  return <M extends (...args: [...A, ...never[]]) => unknown>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    const original = descriptor.value;
    const where = `${typeof target === "function" ? target.name : target.constructor.name}.${String(propertyKey)}`;
    if (typeof original !== "function") {
      throw new LockInvalidArgumentError(`@DistributedLock() decorates methods; ${where} is not one.`);
    }
    if (typeof target === "function") {
      throw new LockInvalidArgumentError(
        `@DistributedLock() needs an instance method that Nest creates; ${where} is static.`,
      );
    }
    prepareInjection(target);
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
    const locked = async function (this: Locked, ...args: Parameters<M>): Promise<unknown> {
      const binding = this?.[BINDING];
      if (binding === undefined) {
        throw new LockError(
          "NOT_INITIALIZED",
          `${where} is decorated with @DistributedLock(), but this instance did not get a ZkLockManager: create it through Nest (not with new, useValue or useFactory) in an application that imports ZkLockModule.`,
        );
      }
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
    copyMetadata(original, locked);
    Object.defineProperty(locked, "name", { value: original.name });
    descriptor.value = locked as unknown as M;
  };
}

/**
 * Asks Nest to inject the module's binding into every instance of the class (optionally, so that a
 * missing module does not end in Nest's generic "can't resolve dependencies" error), then a
 * `ModuleRef`, which every module has, under a property whose setter fails the bootstrap with a
 * message that names the fix when the binding did not arrive.
 */
function prepareInjection(prototype: object): void {
  if (prepared.has(prototype)) return;
  prepared.add(prototype);
  Optional()(prototype, BINDING);
  Inject(ZK_LOCK_BINDING)(prototype, BINDING);
  Inject(ModuleRef)(prototype, BOOTSTRAP_CHECK);
  Object.defineProperty(prototype, BOOTSTRAP_CHECK, {
    configurable: true,
    set(this: Locked) {
      if (this[BINDING] !== undefined) return;
      throw new LockError(
        "NOT_INITIALIZED",
        `${this.constructor.name} uses @DistributedLock(), which needs ZkLockModule: add ZkLockModule.forRoot({ connect }) (or forRootAsync(), or { manager } to share one) to the imports of your root module. It is global by default; with isGlobal: false, import it in the module that provides ${this.constructor.name}.`,
      );
    },
  });
}

// Route, cron, event and other metadata is stored on the method function itself; the wrapper takes
// it over, so it does not matter whether those decorators run before or after this one.
function copyMetadata(from: object, to: object): void {
  for (const metadataKey of Reflect.getOwnMetadataKeys(from)) {
    Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, from), to);
  }
}

function render(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  return typeof value === "object" || typeof value === "function"
    ? `a ${typeof value}`
    : `${typeof value} ${String(value)}`;
}
