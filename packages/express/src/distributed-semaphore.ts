import { checkSemaphoreOptions, type ZkLockManager } from "@zk-dist-lock/core";
import type { RequestHandler } from "express";
import {
  checkRouteOptions,
  type DefaultParams,
  ROUTE_OPTION_NAMES,
  type RouteHoldOptions,
  routeHolder,
} from "./route-middleware.js";

/** Options of {@link distributedSemaphore}. */
export interface DistributedSemaphoreOptions<P = DefaultParams> extends RouteHoldOptions<P> {
  /**
   * How many requests may hold the key at once, across every process: a positive integer. Every
   * process must give the same number for one key; one that does not gets `CONFLICT` (409).
   */
  permits: number;
}

/**
 * A request handler that holds one permit of the semaphore `key` while the rest of the route works
 * on the response: at most `permits` requests on the key run their handlers at once, across every
 * process, first come, first served. The permit lasts and ends as `distributedLock()`'s lock does:
 * until the response has been ended (also after its client left), `getPermit(res).release()`, or
 * the opt-in `maxHold`; a client that leaves while waiting stops the wait. The handler finds the
 * token, `signal` and `clientSignal` on `res.locals.permit` (see `getPermit(res)`); a
 * `withSemaphore()` on the same manager and resource inside the handler joins the permit.
 *
 * A middleware of its own rather than a `permits` option of `distributedLock()`, as core has
 * `withSemaphore()` beside `withLock()`: a permit is not a lock (its holders run together, and its
 * token fences nothing), `permits` is required, and a route says which of the two its key is,
 * since one key cannot be both.
 *
 * Answers as `distributedLock()` does: `onLocked` (default `423`) when the wait times out, 400 for
 * an invalid key, 409 for a `CONFLICT` (processes that disagree on `permits`, or a lock on the key),
 * 503 with `Retry-After` without a ZooKeeper connection.
 *
 * @example
 * ```ts
 * import { distributedSemaphore, getPermit } from "@zk-dist-lock/express";
 *
 * // At most 5 geocodings at once across every instance: the provider's concurrency limit.
 * app.get("/addresses/:id/geocode", distributedSemaphore(manager, { key: "geocoder-api", permits: 5, acquireTimeout: 10_000 }),
 *   async (req, res) => {
 *     res.json(await geocoder.lookup(req.params.id, { signal: getPermit(res).signal }));
 *   });
 * ```
 */
export function distributedSemaphore<P = DefaultParams>(
  manager: ZkLockManager,
  options: DistributedSemaphoreOptions<P>,
): RequestHandler<P> {
  checkRouteOptions("distributedSemaphore", "withSemaphore", manager, options);
  // Checked as every semaphore will check them, when the route is set up.
  checkSemaphoreOptions(options, "distributedSemaphore() options", ROUTE_OPTION_NAMES);
  const { key, onLocked, maxHold, rootDir, acquireTimeout, label, permits } = options;
  return routeHolder<P>(
    {
      kind: "permit",
      // An object literal, as in distributedLock().
      hold: (resource, fn, signal) =>
        manager.withSemaphore(resource, ({ token, semaphore }) => fn(token, semaphore), {
          rootDir,
          acquireTimeout,
          label,
          permits,
          signal,
        }),
    },
    { key, onLocked, maxHold },
  );
}
