// What distributedLock() and distributedSemaphore() share: the key, the wait that a finished
// response stops, the hold that lasts as long as the handler works on the response, and the
// answers to failures. Only how the hold is taken differs (withLock or withSemaphore).
import { encodeResource, isLockError, type LockError, LockInvalidArgumentError } from "@zk-dist-lock/core";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { RouteHold } from "./route-hold.js";
import { ClientClosedError, type HoldKind, heldPhrase } from "./route-lock.js";

/** The route parameters of a request, as Express types them by default. */
export type DefaultParams = Request["params"];

/** Answers a request that did not get the lock (or the permit) within `acquireTimeout`. */
export type OnLocked<P = DefaultParams> = (
  req: Request<P>,
  res: Response,
  next: NextFunction,
  error: LockError,
) => void | Promise<void>;

/**
 * The options that `distributedLock()` and `distributedSemaphore()` share.
 *
 * @example
 * ```ts
 * const common: RouteHoldOptions<{ id: string }> = { key: (req) => `invoice:${req.params.id}`, acquireTimeout: 2000 };
 * app.get("/invoices/:id", distributedLock(manager, { ...common, mode: "shared" }), show);
 * ```
 */
export interface RouteHoldOptions<P = DefaultParams> {
  /**
   * The resource: a string, or a function of the request that returns one, such as
   * `(req) => \`invoice:${req.params.id}\``. Any string up to 512 UTF-8 bytes is safe: it is encoded
   * into one znode name under `rootDir`. A function that returns an empty, over-long or non-string
   * key makes the request fail with status 400; an error it throws goes to `next(err)` unchanged.
   */
  key: string | ((req: Request<P>) => string);
  /**
   * Milliseconds to wait before answering with `onLocked`. Default: the manager's
   * `acquireTimeout`, else wait until the hold comes or the client goes away.
   */
  acquireTimeout?: number;
  /** Parent path of the resource directories. Default: the manager's `rootDir` (`"/locks"`). */
  rootDir?: string;
  /**
   * Free text stored in the route's nodes for operators (see core's `inspect()`), such as the
   * route's name. Default: the manager's `label`.
   */
  label?: string;
  /**
   * Answers a request whose wait timed out. Default: `res.sendStatus(423)`, which answers
   * `423` with the text body `Locked`. Errors it throws or rejects with go to `next(err)`.
   */
  onLocked?: OnLocked<P>;
  /**
   * Opt-in bound, in milliseconds, on how long one request holds. A hold that lasts that long (the
   * handler has neither ended the response nor called `release()`) is released by the middleware:
   * the hold's `signal` aborts with a `LockLostError`, and a process warning with code
   * `ZK_DIST_LOCK_MAX_HOLD` names the route. The handler may still be running then, so another
   * request can enter: set it only where that is safe (writes fenced with the token). Default: no
   * bound; the hold lasts until the response ends or `release()`.
   */
  maxHold?: number;
}

/** The options of {@link RouteHoldOptions} that are the middleware's own, not the lock's. */
export const ROUTE_OPTION_NAMES = ["key", "onLocked", "maxHold"] as const;

/** How a middleware takes its hold: core's `withLock()` or `withSemaphore()` on the manager. */
export interface RouteHolding {
  kind: HoldKind;
  /**
   * Holds `resource` while `fn` runs, with the token and the core handle, and gives up waiting
   * when `signal` aborts; settles as the manager's call does.
   */
  hold(
    resource: string,
    fn: (token: bigint, handle: { readonly signal: AbortSignal }) => Promise<void>,
    signal: AbortSignal,
  ): Promise<void>;
}

/**
 * The request handler that holds `holding` on the request's key while the rest of the route works
 * on the response (see `distributedLock()` for the whole story).
 */
export function routeHolder<P>(
  holding: RouteHolding,
  { key, onLocked = answerLocked, maxHold }: RouteHoldOptions<P>,
): RequestHandler<P> {
  const { kind } = holding;
  return (req, res, next) => {
    let resource: string;
    try {
      resource = typeof key === "function" ? key(req) : key;
    } catch (error) {
      next(error);
      return;
    }
    // Until the hold comes, a response that is over stops the wait (the client left, or other
    // middleware answered): an abandoned request never takes the hold later.
    const waiting = new AbortController();
    let hold: RouteHold | undefined;
    const stopWaiting = () => waiting.abort(whyOver(res, kind, resource));
    if (isOver(res)) stopWaiting();
    else {
      // A response emits each at most once: `on` spares the wrapper that `once` makes per request.
      res.on("finish", () => (hold ? hold.responseEnded() : stopWaiting()));
      res.on("close", () => (hold ? hold.connectionClosed() : stopWaiting()));
    }
    const held: Promise<void> = holding.hold(
      resource,
      (token, handle) =>
        new Promise<void>((resolve) => {
          const finish = () => {
            resolve();
            return held;
          };
          const earlier: unknown = res.locals[kind];
          const joined = earlier instanceof RouteHold && earlier.resource === resource ? earlier : undefined;
          hold = new RouteHold({ kind, resource, token, handle, res, finish, maxHold, joined });
          // The wait was stopped as the hold came: nobody is left to serve.
          if (isOver(res)) {
            hold.responseEnded();
            return;
          }
          res.locals[kind] = hold;
          // Called inside the manager's function, so the rest of the route runs in the async
          // context of this hold: a nested withLock() (or withSemaphore()) on the resource joins it.
          next();
        }),
      waiting.signal,
    );
    held.catch((error: unknown) => {
      // Once held, the only failure left is deleting the node, which the manager reports as a
      // "cleanupFailed" event (and `release()` hands to its caller). And when the response was over
      // while waiting, nobody is left to answer.
      if (hold || waiting.signal.aborted) return;
      if (isLockError(error, "TIMEOUT")) {
        new Promise<void>((resolve) => resolve(onLocked(req, res, next, error))).catch(next);
      } else next(isLockError(error) ? withStatus(error) : error);
    });
  };
}

const answerLocked = (_req: unknown, res: Response) => {
  res.sendStatus(423);
};

/** Whether the response was ended or its connection closed. */
const isOver = (res: Response) => res.writableEnded || res.destroyed;

/** Why a wait stopped: the response was already over. */
function whyOver(res: Response, kind: HoldKind, resource: string): Error {
  const held = heldPhrase(kind, resource);
  if (res.writableEnded) {
    return new Error(`Other middleware ended the response while it waited for ${held}.`);
  }
  return new ClientClosedError(
    resource,
    `The client closed the connection while the request waited for ${held}.`,
  );
}

// Long enough for a new ZooKeeper leader or a new session, short enough not to idle a client.
const OUTAGE_RETRY_AFTER_SECONDS = 5;

/**
 * A lock error with the status Express's error handlers answer with, where the code has one: an
 * invalid key is the client's (400; the manager refuses it before any request to ZooKeeper); a
 * `CONFLICT` is a request that the resource's current holders rule out (409: a semaphore of other
 * permits, a lock on a semaphore's resource, an exclusive hold inside a shared one); no ZooKeeper
 * connection is an outage, not contention (503 with `Retry-After`, which Express's default handler
 * sends from `headers`, so that load balancers and users can tell it from 423). Other codes stay
 * as they are: Express answers 500.
 */
function withStatus(error: LockError): LockError {
  if (error.code === "INVALID_ARGUMENT") return Object.assign(error, { status: 400, statusCode: 400 });
  if (error.code === "CONFLICT") return Object.assign(error, { status: 409, statusCode: 409 });
  if (error.code === "CONNECTION") {
    return Object.assign(error, {
      status: 503,
      statusCode: 503,
      headers: { "Retry-After": String(OUTAGE_RETRY_AFTER_SECONDS) },
    });
  }
  return error;
}

// setTimeout fires at once for longer delays.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks the options every route holder takes, when the route is set up: the manager (it must
 * have `method`), the key, `onLocked` and `maxHold`. `middleware` names the factory in messages.
 */
export function checkRouteOptions(
  middleware: string,
  method: "withLock" | "withSemaphore",
  manager: unknown,
  options: unknown,
): void {
  if (typeof (manager as Record<string, unknown> | null)?.[method] !== "function") {
    throw new LockInvalidArgumentError(
      `${middleware}(manager, options) needs the process's ZkLockManager as its first argument.`,
    );
  }
  if (typeof options !== "object" || options === null) {
    throw new LockInvalidArgumentError(`${middleware}(manager, options) needs options with a key.`);
  }
  const { key, onLocked, maxHold } = options as RouteHoldOptions<unknown>;
  if (typeof key === "string") encodeResource(key);
  else if (typeof key !== "function") {
    throw new LockInvalidArgumentError(
      `${middleware}() options.key must be a string or a function of the request that returns one.`,
    );
  }
  if (onLocked !== undefined && typeof onLocked !== "function") {
    throw new LockInvalidArgumentError(`${middleware}() options.onLocked must be a function.`);
  }
  if (maxHold !== undefined && !(typeof maxHold === "number" && maxHold >= 1 && maxHold <= MAX_TIMER_MS)) {
    throw new LockInvalidArgumentError(
      `${middleware}() options.maxHold must be a number of milliseconds from 1 to ${MAX_TIMER_MS}; got ${String(maxHold)}.`,
    );
  }
}
