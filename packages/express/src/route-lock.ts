import { LockError } from "@zk-dist-lock/core";
import type { Response } from "express";

/**
 * The hold a `distributedLock()` middleware took for the current request, found on
 * `res.locals.lock` (or through {@link getLock}).
 */
export interface RouteLock {
  /** The resource locked for this request (the middleware's `key`). */
  readonly resource: string;
  /** The fencing token of the hold: pass it to writes that a fenced store can check. */
  readonly token: bigint;
  /** Aborts with a `LockLostError` when the hold is lost; stop the work then. */
  readonly signal: AbortSignal;
  /**
   * Ends the hold now instead of when the response finishes. Safe to call more than once. Call it
   * from an error handler that deliberately never answers, or before a long streaming response
   * that no longer needs the lock. Resolves once the lock is free for the next waiter.
   */
  release(): Promise<void>;
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
  const lock = res.locals.lock as RouteLock | undefined;
  if (lock === undefined) {
    throw new LockError(
      "NOT_HELD",
      "No lock on this request: put distributedLock(manager, { key }) before this handler on the route.",
    );
  }
  return lock;
}
