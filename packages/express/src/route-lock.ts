import { LockError } from "@zk-dist-lock/core";
import type { Response } from "express";

/**
 * The hold a `distributedLock()` middleware took for the current request, found on
 * `res.locals.lock` (or through {@link getLock}). It lasts until the handler has ended the response
 * (`res.end()`, or what calls it: `send`, `json`, `sendStatus`, a stream piped into `res`), also
 * when the client left before, or until `release()`, or until the middleware's `maxHold`.
 */
export interface RouteLock {
  /** The resource locked for this request (the middleware's `key`). */
  readonly resource: string;
  /** The fencing token of the hold: pass it to writes that a fenced store can check. */
  readonly token: bigint;
  /**
   * Aborts when the hold is over, and only then: with a `LockLostError` when it is lost before the
   * handler is done (the ZooKeeper session expired, or `maxHold` ran out), or with a `LockError`
   * `NOT_HELD` once the response ended or `release()` was called. A client that leaves does not
   * abort it: see {@link RouteLock.clientSignal}.
   */
  readonly signal: AbortSignal;
  /**
   * Aborts with a {@link ClientClosedError} when the client closed the connection before the
   * response was finished. The hold stands: stop early if the work is pointless now, then end the
   * response (nobody receives it) or call `release()`.
   */
  readonly clientSignal: AbortSignal;
  /**
   * Ends the hold now instead of when the response ends. Safe to call more than once. Call it from
   * an error handler that deliberately never answers, from the error callback of a streamed
   * response, or before a long streaming response that no longer needs the lock. Resolves once the
   * lock is free for the next waiter.
   */
  release(): Promise<void>;
}

/**
 * The hold a `distributedSemaphore()` middleware took for the current request: one permit, found on
 * `res.locals.permit` (or through {@link getPermit}). The same shape and life as a
 * {@link RouteLock}: it lasts until the handler has ended the response, or `release()`, or
 * `maxHold`, and a client that leaves does not end it. Its `token` follows the semaphore's queue
 * (above the tokens of the permits queued before it, below those queued after), and orders nothing
 * else: holders at the same time are ordered by it only as they queued, and it fences nothing.
 */
export type RoutePermit = RouteLock;

/** What a middleware holds for a request: a lock (`distributedLock()`) or a permit (`distributedSemaphore()`). */
export type HoldKind = "lock" | "permit";

/** What a request holds, as messages name it: `the lock on "k"`, `the permit of "k"`. */
export const heldPhrase = (kind: HoldKind, resource: string) =>
  kind === "lock" ? `the lock on "${resource}"` : `the permit of "${resource}"`;

/**
 * The abort reason of {@link RouteLock.clientSignal}: the client closed the connection before the
 * response was finished. Recognise it by `name` (or `code`), which also works across two loaded
 * copies of this package.
 */
export class ClientClosedError extends Error {
  override name = "ClientClosedError";
  readonly code = "CLIENT_CLOSED";
  /** The resource the request held or waited for. */
  readonly resource: string;

  constructor(resource: string, message: string) {
    super(message);
    this.resource = resource;
  }
}

/**
 * The {@link RouteLock} of this request. Throws a `LockError` with code `NOT_HELD` when no
 * `distributedLock()` middleware ran before the handler, which is a wiring mistake.
 *
 * @example
 * ```ts
 * app.post("/invoices/:id/pay", distributedLock<{ id: string }>(manager, { key: (req) => `invoice:${req.params.id}` }),
 *   async (req, res) => {
 *     const { token, signal } = getLock(res);
 *     await invoices.pay(req.params.id, { fence: token, signal });
 *     res.sendStatus(204);
 *   });
 * ```
 */
export function getLock(res: Response): RouteLock {
  return heldBy(res, "lock", "distributedLock(manager, { key })");
}

/**
 * The {@link RoutePermit} of this request. Throws a `LockError` with code `NOT_HELD` when no
 * `distributedSemaphore()` middleware ran before the handler, which is a wiring mistake.
 *
 * @example
 * ```ts
 * app.get("/addresses/:id/geocode", distributedSemaphore(manager, { key: "geocoder-api", permits: 5 }),
 *   async (req, res) => {
 *     const { signal } = getPermit(res);
 *     res.json(await geocoder.lookup(req.params.id, { signal }));
 *   });
 * ```
 */
export function getPermit(res: Response): RoutePermit {
  return heldBy(res, "permit", "distributedSemaphore(manager, { key, permits })");
}

function heldBy(res: Response, kind: HoldKind, middleware: string): RouteLock {
  const held = res.locals[kind] as RouteLock | undefined;
  if (held === undefined) {
    throw new LockError(
      "NOT_HELD",
      `No ${kind} on this request: put ${middleware} before this handler on the route.`,
    );
  }
  return held;
}
