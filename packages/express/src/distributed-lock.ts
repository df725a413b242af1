import { checkLockOptions, type LockMode, type ZkLockManager } from "@zk-dist-lock/core";
import type { RequestHandler } from "express";
import {
  checkRouteOptions,
  type DefaultParams,
  ROUTE_OPTION_NAMES,
  type RouteHoldOptions,
  routeHolder,
} from "./route-middleware.js";

/** Options of {@link distributedLock}. */
export interface DistributedLockOptions<P = DefaultParams> extends RouteHoldOptions<P> {
  /**
   * `"exclusive"` (the default): one request at a time on the key. `"shared"`: together with every
   * other shared request on the key and never with an exclusive one, such as reads beside writes
   * (`GET` shared, `PUT` exclusive on the same key); first come, first served, so a stream of
   * shared requests never starves an exclusive one.
   */
  mode?: LockMode;
}

/**
 * A request handler that holds a distributed lock on `key` while the rest of the route works on the
 * response, and releases it exactly once: when the response has been ended (also after its client
 * left: the handler is still at work then), when the handler calls `getLock(res).release()`, or
 * after the opt-in `maxHold`. The handler finds the fencing token, the lost-lock `signal` and the
 * `clientSignal` (the client closed the connection) on `res.locals.lock` (see `getLock(res)`). A
 * `withLock()` on the same manager and resource inside the handler, or a Nest `@DistributedLock()`
 * method it calls, joins the hold instead of waiting for it. `mode: "shared"` takes the lock shared.
 *
 * Name the route's parameters (`distributedLock<{ id: string }>(…)`) to type `req.params` in the key
 * function and in the handlers after the middleware.
 *
 * A wait that times out is answered by `onLocked` (default `423` with the body `Locked`); a client
 * that goes away while waiting stops the wait; an invalid key gives `next(err)` with a
 * `LockInvalidArgumentError` carrying `status` 400; a `CONFLICT` (the key is a semaphore's, or an
 * exclusive lock inside a shared hold of the request) gives `next(err)` with `status` 409; no
 * ZooKeeper connection gives `next(err)` with the `CONNECTION` error carrying `status` 503 and a
 * `Retry-After` header; other failures go to `next(err)` as they are.
 *
 * @example
 * ```ts
 * import express from "express";
 * import { distributedLock, getLock } from "@zk-dist-lock/express";
 *
 * const invoiceLock = (mode: "shared" | "exclusive") =>
 *   distributedLock<{ id: string }>(manager, { key: (req) => `invoice:${req.params.id}`, mode, acquireTimeout: 2000 });
 * app.get("/invoices/:id", invoiceLock("shared"), async (req, res) => {
 *   res.json(await invoices.get(req.params.id));
 * });
 * app.post("/invoices/:id/pay", invoiceLock("exclusive"), async (req, res) => {
 *   const { token } = getLock(res);
 *   await invoices.pay(req.params.id, { fence: token });
 *   res.sendStatus(204);
 * });
 * ```
 */
export function distributedLock<P = DefaultParams>(
  manager: ZkLockManager,
  options: DistributedLockOptions<P>,
): RequestHandler<P> {
  checkRouteOptions("distributedLock", "withLock", manager, options);
  // Checked as every lock will check them, so a bad or misspelt option fails when the route is set
  // up, not at its first request (or never).
  checkLockOptions(options, "distributedLock() options", ROUTE_OPTION_NAMES);
  const { key, onLocked, maxHold, rootDir, acquireTimeout, label, mode } = options;
  return routeHolder<P>(
    {
      kind: "lock",
      // An object literal, not `{ ...lockOptions, signal }`: that spread costs more than a
      // microsecond per request on Node 20.
      hold: (resource, fn, signal) =>
        manager.withLock(resource, ({ token, lock }) => fn(token, lock), {
          rootDir,
          acquireTimeout,
          label,
          mode,
          signal,
        }),
    },
    { key, onLocked, maxHold },
  );
}
