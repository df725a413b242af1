import type { Recipe } from "./channels.js";

/** What went wrong, for callers that branch on it. */
export type LockErrorCode =
  | "TIMEOUT"
  | "ABORTED"
  | "LOST"
  | "NOT_HELD"
  | "INVALID_ARGUMENT"
  | "NOT_INITIALIZED"
  | "CONNECTION"
  | "ZOOKEEPER"
  | "CONFLICT";

export interface LockErrorOptions {
  resource?: string | undefined;
  cause?: unknown;
}

/**
 * The one error class of zk-dist-lock; subclasses exist for what callers usually branch on.
 * Recognise it with {@link isLockError}, which also works when two copies of the package are loaded.
 *
 * @example
 * ```ts
 * try {
 *   await lock.acquire();
 * } catch (error) {
 *   if (isLockError(error, "TIMEOUT")) return reply.status(423).send();
 *   throw error;
 * }
 * ```
 */
export class LockError extends Error {
  override name = "LockError";
  readonly code: LockErrorCode;
  /** The resource the failed operation was about, when there was one. */
  readonly resource: string | undefined;

  constructor(code: LockErrorCode, message: string, options: LockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.resource = options.resource;
  }
}

/**
 * What a wait of `recipe` for `resource` waits for, as every message about the wait names it (a
 * timeout, an abort, an outage): `the lock on "k"`, `a permit of "k"`, `leadership of "k"`.
 */
export function soughtIn(recipe: Recipe, resource: string): string {
  if (recipe === "semaphore") return `a permit of "${resource}"`;
  if (recipe === "election") return `leadership of "${resource}"`;
  return `the lock on "${resource}"`;
}

/**
 * `acquire()` did not get the lock (or permit, or leadership: `recipe`) within its timeout;
 * nothing was left behind in ZooKeeper.
 */
export class LockTimeoutError extends LockError {
  override name = "LockTimeoutError";
  constructor(resource: string, timeoutMs: number, recipe: Recipe = "lock") {
    super("TIMEOUT", `Timed out after ${timeoutMs} ms waiting for ${soughtIn(recipe, resource)}.`, {
      resource,
    });
  }
}

/**
 * A hold ended without `release()`: the ZooKeeper session expired, or the client was cut off for
 * longer than the session timeout, so another process may hold the lock now. Stop the work; writes
 * that carry the fencing token will be refused by a fenced store.
 */
export class LockLostError extends LockError {
  override name = "LockLostError";
  constructor(resource: string, reason: string, cause?: unknown) {
    super("LOST", `The lock on "${resource}" was lost: ${reason}.`, { resource, cause });
  }
}

/**
 * A leader's term ended without `resign()`: the ZooKeeper session expired, the client was cut off
 * for longer than the session timeout, or the election node was deleted, so another process may
 * lead now. A `LockLostError` (code `LOST`) whose message speaks of leadership.
 */
export class LeadershipLostError extends LockLostError {
  override name = "LeadershipLostError";
  constructor(election: string, reason: string, cause?: unknown) {
    super(election, reason, cause);
    this.message = `Leadership of "${election}" was lost: ${reason}.`;
  }
}

/** An argument or option was invalid; nothing was sent to ZooKeeper. */
export class LockInvalidArgumentError extends LockError {
  override name = "LockInvalidArgumentError";
  constructor(message: string, resource?: string) {
    super("INVALID_ARGUMENT", message, { resource });
  }
}

/**
 * `error` as an error about `resource`: a {@link LockError} that names no resource (a session-wide
 * one, such as the end of the session, reaches every waiter) comes back as a copy that does; any
 * other error comes back as it is.
 */
export function withResource(error: unknown, resource: string): unknown {
  if (!(error instanceof LockError) || error.resource !== undefined) return error;
  // A copy of every own property (message, stack, cause, code, and a ZooKeeper result code) with the
  // same prototype: the same class, and the original stays untouched for the others it reached.
  const copy = Object.create(Object.getPrototypeOf(error), Object.getOwnPropertyDescriptors(error));
  Object.defineProperty(copy, "resource", { value: resource, enumerable: true });
  return copy;
}

const lockErrorNames = new Set([
  "LockError",
  "LockTimeoutError",
  "LockLostError",
  "LeadershipLostError",
  "LockInvalidArgumentError",
]);

/**
 * Whether `error` is a {@link LockError} (optionally with the given code). It checks the name and
 * code rather than the prototype, so errors from another loaded copy of the package count too.
 *
 * @example
 * ```ts
 * if (isLockError(error, "LOST")) abortTheJob();
 * ```
 */
export function isLockError(error: unknown, code?: LockErrorCode): error is LockError {
  if (!(error instanceof Error) || !lockErrorNames.has(error.name)) return false;
  return code === undefined || (error as LockError).code === code;
}
