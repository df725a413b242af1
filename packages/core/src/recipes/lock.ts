import type { LockMode, ResolvedLockOptions } from "../options.js";
import { lockRule, type QueueRule } from "../queue/rules.js";
import { type LockHost, QueueHandle } from "./queue-handle.js";

/**
 * A lock on one resource, made by `ZkLockManager.createLock()`: exclusive (one holder at a time)
 * or, with `mode: "shared"`, shared with every other shared holder and never with an exclusive
 * one. Both modes queue in one line, first come first served: a shared acquisition behind a
 * waiting exclusive one waits too, so a stream of readers never starves a writer.
 *
 * One handle is one owner: acquiring it again while it holds is re-entrant and returns the same
 * fencing token.
 *
 * Calls that overlap in time on one handle are re-entrant too, each on its own terms. Every call
 * that resolves counts one acquisition, which one `release()` undoes; the lock node goes when the
 * count is back at zero. A call made while the handle holds counts up at once. A call made while
 * the handle is still acquiring waits with the calls before it for the same place in the queue,
 * with its own timeout and signal: a call that gives up leaves alone and the others keep the place;
 * when the turn comes, every call still waiting resolves with the same token. The place is given up
 * (its node deleted) only when no call waits for it any more.
 *
 * Fencing tokens follow the queue: a node's token is its creation zxid (or, for an exclusive node
 * on the binding, an equivalent listing pzxid; see `Granted.token`). An exclusive holder's token
 * is greater than the token of every hold of the resource granted before it, shared or exclusive
 * (all of them queued ahead of it), so a store that keeps the greatest token it has seen refuses
 * every earlier holder's late write. A shared holder's token is greater than the token of every
 * exclusive hold before it and smaller than that of every exclusive hold after it; shared holders
 * at the same time are ordered by theirs only as they queued. So a reader can tell that a writer
 * came after it (the store's token is greater than its own), but a token does not tell one reader
 * from another.
 *
 * @example
 * ```ts
 * const lock = manager.createLock("invoice:42", { acquireTimeout: 2000 });
 * const token = await lock.acquire(); // before `try`: a failed acquire has nothing to release
 * try {
 *   await db.query("UPDATE invoices SET … , fence = $1 WHERE id = 42 AND fence < $1", [token]);
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export class ZkLock extends QueueHandle {
  /** @internal */
  readonly recipe = "lock" as const;
  /** @internal */
  protected readonly rule: QueueRule;
  /** @internal */
  protected readonly held = `the lock on "${this.resource}"`;

  /** @internal */
  constructor(
    host: LockHost,
    resource: string,
    path: string,
    options: ResolvedLockOptions,
    /** How this handle holds the lock: `"exclusive"` or `"shared"`. */
    readonly mode: LockMode = "exclusive",
  ) {
    super(host, resource, path, options);
    this.rule = lockRule(mode);
  }
}
