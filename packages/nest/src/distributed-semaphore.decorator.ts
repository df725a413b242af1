import { checkSemaphoreOptions } from "@zk-dist-lock/core";
import { runWithCurrentPermit } from "./current-permit.js";
import {
  checkKey,
  type DistributedLockKey,
  keyedMethod,
  withDefaults,
  withResourceOf,
} from "./keyed-method.js";
import type { ZkLockDefaults } from "./zk-lock-options.interface.js";

/** Options of {@link DistributedSemaphore}: its permits, and per-method overrides of the module defaults. */
export interface DistributedSemaphoreOptions extends ZkLockDefaults {
  /**
   * How many calls may hold the key at once, across every instance: a positive integer. Every
   * instance must give the same number for one key; one that does not fails with `CONFLICT`.
   */
  permits: number;
}

/**
 * Runs the method holding one permit of the semaphore `key`: at most `permits` calls on the key
 * run at once, in this process and every other instance of the application, first come, first
 * served; to cap the concurrent calls to an external API, say. The permit is released however the
 * method ends, and is lost (its `signal` aborts) when the ZooKeeper session ends. A decorated
 * method called by another that holds a permit of the same semaphore joins it; a
 * `@DistributedLock()` on the same key is refused with `CONFLICT`, since a key is a lock or a
 * semaphore, never both.
 *
 * A decorator of its own rather than a `permits` option of `@DistributedLock()`, as core has
 * `withSemaphore()` beside `withLock()`: a permit is not a lock (its holders run together, and its
 * token fences nothing), `permits` is required, and the method says which of the two its key is.
 *
 * Read the token and lost-permit signal with `currentPermit()`. Like `@DistributedLock()`: any
 * provider method, metadata kept, always returns a Promise, needs `ZkLockModule`.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class Geocoder {
 *   @DistributedSemaphore("geocoder-api", { permits: 5, acquireTimeout: 10_000 })
 *   async lookup(address: string) {
 *     return this.api.geocode(address, { signal: currentPermit().signal });
 *   }
 * }
 * ```
 */
export function DistributedSemaphore<A extends unknown[] = []>(
  key: DistributedLockKey<A>,
  options: DistributedSemaphoreOptions,
) {
  checkKey("@DistributedSemaphore()", key);
  // When the class is defined: permits is required, and bad options fail before the first call.
  checkSemaphoreOptions(options, "@DistributedSemaphore() options");
  const optionsFor = withDefaults(options);
  return keyedMethod<A>("@DistributedSemaphore()", key, (binding, resource, method) =>
    binding.manager.withSemaphore(
      resource,
      (context) => runWithCurrentPermit(withResourceOf(context, "semaphore", resource), method),
      optionsFor(binding),
    ),
  );
}
