import {
  checkLockOptions,
  encodeResource,
  isLockError,
  type LockError,
  LockInvalidArgumentError,
  type ZkLockManager,
} from "@zk-dist-lock/core";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { RouteHold } from "./route-hold.js";
import { ClientClosedError } from "./route-lock.js";

/** The route parameters of a request, as Express types them by default. */
type DefaultParams = Request["params"];

/** Answers a request that did not get the lock within `acquireTimeout`. */
export type OnLocked<P = DefaultParams> = (
  req: Request<P>,
  res: Response,
  next: NextFunction,
  error: LockError,
) => void | Promise<void>;

/** Options of {@link distributedLock}. */
export interface DistributedLockOptions<P = DefaultParams> {
  /**
   * The resource to lock: a string, or a function of the request that returns one, such as
   * `(req) => \`invoice:${req.params.id}\``. Any string up to 512 UTF-8 bytes is safe: it is encoded
   * into one znode name under `rootDir`. A function that returns an empty, over-long or non-string
   * key makes the request fail with status 400; an error it throws goes to `next(err)` unchanged.
   */
  key: string | ((req: Request<P>) => string);
  /**
   * Milliseconds to wait for the lock before answering with `onLocked`. Default: the manager's
   * `acquireTimeout`, else wait until the lock comes or the client goes away.
   */
  acquireTimeout?: number;
  /** Parent path of the lock directories. Default: the manager's `rootDir` (`"/locks"`). */
  rootDir?: string;
  /**
   * Answers a request whose wait timed out. Default: `res.sendStatus(423)`, which answers
   * `423` with the text body `Locked`. Errors it throws or rejects with go to `next(err)`.
   */
  onLocked?: OnLocked<P>;
  /**
   * Opt-in bound, in milliseconds, on how long one request holds the lock. A hold that lasts that
   * long (the handler has neither ended the response nor called `release()`) is released by the
   * middleware: `getLock(res).signal` aborts with a `LockLostError`, and a process warning with
   * code `ZK_DIST_LOCK_MAX_HOLD` names the route. The handler may still be running then, so another
   * request can enter: set it only where the handler's writes are fenced with the token. Default:
   * no bound; the hold lasts until the response ends or `release()`.
   */
  maxHold?: number;
}

/**
 * A request handler that holds a distributed lock on `key` while the rest of the route works on the
 * response, and releases it exactly once: when the response has been ended (also after its client
 * left: the handler is still at work then), when the handler calls `getLock(res).release()`, or
 * after the opt-in `maxHold`. The handler finds the fencing token, the lost-lock `signal` and the
 * `clientSignal` (the client closed the connection) on `res.locals.lock` (see `getLock(res)`). A
 * `withLock()` on the same manager and resource inside the handler, or a Nest `@DistributedLock()`
 * method it calls, joins the hold instead of waiting for it.
 *
 * Name the route's parameters (`distributedLock<{ id: string }>(…)`) to type `req.params` in the key
 * function and in the handlers after the middleware.
 *
 * A wait that times out is answered by `onLocked` (default `423` with the body `Locked`); a client
 * that goes away while waiting stops the wait; an invalid key gives `next(err)` with a
 * `LockInvalidArgumentError` carrying `status` 400; no ZooKeeper connection gives `next(err)` with
 * the `CONNECTION` error carrying `status` 503 and a `Retry-After` header; other failures go to
 * `next(err)` as they are.
 *
 * @example
 * ```ts
 * import express from "express";
 * import { distributedLock, getLock } from "@zk-dist-lock/express";
 *
 * app.post(
 *   "/invoices/:id/pay",
 *   distributedLock<{ id: string }>(manager, { key: (req) => `invoice:${req.params.id}`, acquireTimeout: 2000 }),
 *   async (req, res) => {
 *     const { token } = getLock(res);
 *     await invoices.pay(req.params.id, { fence: token });
 *     res.sendStatus(204);
 *   },
 * );
 * ```
 */
export function distributedLock<P = DefaultParams>(
  manager: ZkLockManager,
  options: DistributedLockOptions<P>,
): RequestHandler<P> {
  const { key, onLocked = answerLocked, maxHold, ...lockOptions } = checkOptions(manager, options);
  return (req, res, next) => {
    let resource: string;
    try {
      resource = typeof key === "function" ? key(req) : key;
    } catch (error) {
      next(error);
      return;
    }
    // Until the lock comes, a response that is over stops the wait (the client left, or other
    // middleware answered): an abandoned request never takes the lock later.
    const waiting = new AbortController();
    let hold: RouteHold | undefined;
    const stopWaiting = () => waiting.abort(whyOver(res, resource));
    if (isOver(res)) stopWaiting();
    else {
      res.once("finish", () => (hold ? hold.responseEnded() : stopWaiting()));
      res.once("close", () => (hold ? hold.connectionClosed() : stopWaiting()));
    }
    const held: Promise<void> = manager.withLock(
      resource,
      ({ token, lock }) =>
        new Promise<void>((resolve) => {
          const finish = () => {
            resolve();
            return held;
          };
          hold = new RouteHold({ resource, token, lock, res, finish, maxHold });
          // The wait was stopped as the lock came: nobody is left to serve.
          if (isOver(res)) {
            hold.responseEnded();
            return;
          }
          res.locals.lock = hold;
          // Called inside withLock's function, so the rest of the route runs in the async context
          // of this hold: a nested withLock() on the same resource joins it.
          next();
        }),
      { ...lockOptions, signal: waiting.signal },
    );
    held.catch((error: unknown) => {
      // Once held, the only failure left is deleting the lock node, which the manager reports as a
      // "cleanupFailed" event (and `release()` hands to its caller). And when the response was over
      // while waiting, nobody is left to answer.
      if (hold || waiting.signal.aborted) return;
      if (isLockError(error, "TIMEOUT")) {
        new Promise<void>((resolve) => resolve(onLocked(req, res, next, error))).catch(next);
      } else if (isLockError(error, "CONNECTION")) {
        next(asUnavailable(error));
      } else {
        // withLock refuses a bad key with INVALID_ARGUMENT before it sends anything to ZooKeeper.
        next(isLockError(error, "INVALID_ARGUMENT") ? asBadRequest(error) : error);
      }
    });
  };
}

const answerLocked = (_req: unknown, res: Response) => {
  res.sendStatus(423);
};

/** Whether the response was ended or its connection closed. */
const isOver = (res: Response) => res.writableEnded || res.destroyed;

/** Why a wait for the lock stopped: the response was already over. */
function whyOver(res: Response, resource: string): Error {
  if (res.writableEnded) {
    return new Error(`Other middleware ended the response while it waited for the lock on "${resource}".`);
  }
  return new ClientClosedError(
    resource,
    `The client closed the connection while the request waited for the lock on "${resource}".`,
  );
}

/** Gives an invalid key the status Express's error handlers answer with. */
function asBadRequest(error: LockError): LockError & { status: 400; statusCode: 400 } {
  return Object.assign(error, { status: 400 as const, statusCode: 400 as const });
}

/**
 * No ZooKeeper connection is an outage, not contention: 503 with `Retry-After` (which Express's
 * default handler sends from `headers`), so that load balancers and users can tell it from 423.
 */
function asUnavailable(
  error: LockError,
): LockError & { status: 503; statusCode: 503; headers: { "Retry-After": string } } {
  return Object.assign(error, {
    status: 503 as const,
    statusCode: 503 as const,
    headers: { "Retry-After": String(OUTAGE_RETRY_AFTER_SECONDS) },
  });
}

// Long enough for a new ZooKeeper leader or a new session, short enough not to idle a client.
const OUTAGE_RETRY_AFTER_SECONDS = 5;

// setTimeout fires at once for longer delays.
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkOptions<P>(manager: unknown, options: DistributedLockOptions<P>): DistributedLockOptions<P> {
  if (typeof (manager as ZkLockManager | null)?.withLock !== "function") {
    throw new LockInvalidArgumentError(
      "distributedLock(manager, options) needs the process's ZkLockManager as its first argument.",
    );
  }
  if (typeof options !== "object" || options === null) {
    throw new LockInvalidArgumentError("distributedLock(manager, options) needs options with a key.");
  }
  const { key, onLocked, rootDir, acquireTimeout, maxHold } = options;
  if (typeof key === "string") encodeResource(key);
  else if (typeof key !== "function") {
    throw new LockInvalidArgumentError(
      "distributedLock() options.key must be a string or a function of the request that returns one.",
    );
  }
  if (onLocked !== undefined && typeof onLocked !== "function") {
    throw new LockInvalidArgumentError("distributedLock() options.onLocked must be a function.");
  }
  if (maxHold !== undefined && !(typeof maxHold === "number" && maxHold >= 1 && maxHold <= MAX_TIMER_MS)) {
    throw new LockInvalidArgumentError(
      `distributedLock() options.maxHold must be a number of milliseconds from 1 to ${MAX_TIMER_MS}; got ${String(maxHold)}.`,
    );
  }
  // Checked as every lock will check them, so a bad rootDir or acquireTimeout fails when the route
  // is set up, not at its first request.
  checkLockOptions({ rootDir, acquireTimeout }, "distributedLock() options");
  return { key, onLocked, rootDir, acquireTimeout, maxHold };
}
