import { isLockError, LockError, LockLostError } from "../errors.js";
import { ownerData } from "../lock-node.js";
import { type AcquireOptions, type ResolvedLockOptions, validateAcquireOptions } from "../options.js";
import { type ConnectionChange, Hold, type Holder } from "../queue/hold.js";
import { enterQueue, type QueueHost } from "../queue/queue.js";
import { exclusive } from "../queue/rules.js";

/** What a lock needs from its manager: the queue's needs, and word of holds starting and ending. */
export interface LockHost extends QueueHost {
  holdStarted(holder: Holder, waitMs: number): void;
  holdEnded(holder: Holder, holdMs: number): void;
}

/** Where a lock stands: not held, being acquired, held, held while disconnected, or lost. */
export type LockState = "idle" | "acquiring" | "held" | "suspended" | "lost";

/**
 * A lock on one resource, made by `ZkLockManager.createLock()`. One handle is one owner: acquiring
 * it again while it holds is re-entrant and returns the same fencing token.
 *
 * @example
 * ```ts
 * const lock = manager.createLock("invoice:42", { acquireTimeout: 2000 });
 * const token = await lock.acquire();
 * try {
 *   await db.query("UPDATE invoices SET … , fence = $1 WHERE id = 42 AND fence < $1", [token]);
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export class ZkLock implements Holder {
  #hold: Hold | undefined;
  /** How many acquisitions of the current hold are not yet released. */
  #count = 0;
  /** @internal */
  readonly recipe = "lock";
  /** @internal */
  readonly mode = "exclusive";
  #acquiring: Promise<bigint> | undefined;

  /** @internal */
  constructor(
    private readonly host: LockHost,
    /** The resource as the caller named it. */
    readonly resource: string,
    /** The resource's own directory in ZooKeeper. */
    readonly path: string,
    private readonly options: ResolvedLockOptions,
  ) {}

  get state(): LockState {
    if (this.#hold) return this.#hold.lost ? "lost" : this.#hold.suspended ? "suspended" : "held";
    return this.#acquiring ? "acquiring" : "idle";
  }

  /** Whether this handle holds the lock and has not lost it. */
  get isHeld(): boolean {
    return this.#hold !== undefined && this.#hold.lost === undefined;
  }

  /** The fencing token of the current hold, or undefined when not holding. */
  get token(): bigint | undefined {
    return this.#hold?.token;
  }

  /** The lock node of the current hold. */
  get nodePath(): string | undefined {
    return this.#hold?.path;
  }

  /** How many times the current hold was acquired and not yet released. */
  get holdCount(): number {
    return this.#hold ? this.#count : 0;
  }

  /**
   * Aborts, with a `LockLostError`, when the current hold is lost; an aborted signal when not
   * holding. Hand it to the work done under the lock so it stops when the lock is gone.
   */
  get signal(): AbortSignal {
    return (
      this.#hold?.signal ??
      AbortSignal.abort(new LockError("NOT_HELD", "The lock is not held.", { resource: this.resource }))
    );
  }

  /**
   * Waits for the lock and resolves to its fencing token: a number that grows with every new
   * holder of this resource, for a data store to refuse writes from a holder that lost the lock.
   * Acquiring a held handle again counts up and resolves to the same token.
   *
   * Rejects with `LockTimeoutError` after the timeout, a `LockError` with code `ABORTED` when the
   * signal aborts, or `CONNECTION` when the session ends; in each case nothing is left behind.
   */
  async acquire(options?: AcquireOptions): Promise<bigint> {
    const { signal, timeout = this.options.acquireTimeout } = validateAcquireOptions(options);
    if (this.#acquiring) await this.#acquiring;
    const hold = this.#hold;
    if (hold) {
      if (hold.lost) throw hold.lost;
      this.#count++;
      return hold.token;
    }
    this.#acquiring = this.#contend(signal, timeout);
    try {
      return await this.#acquiring;
    } finally {
      this.#acquiring = undefined;
    }
  }

  /** Takes the lock if nobody holds it, without waiting: the token, or undefined when it is taken. */
  async tryAcquire(): Promise<bigint | undefined> {
    try {
      return await this.acquire({ timeout: 0 });
    } catch (error) {
      if (isLockError(error, "TIMEOUT")) return undefined;
      throw error;
    }
  }

  /**
   * Counts one acquisition down and, at zero, deletes the lock node so the next waiter gets it.
   * Rejects with code `NOT_HELD` when the handle holds nothing. After a loss it resolves without
   * touching any other owner's node.
   */
  async release(): Promise<void> {
    const hold = this.#hold;
    if (!hold)
      throw new LockError("NOT_HELD", `release() without a hold on "${this.resource}".`, {
        resource: this.resource,
      });
    if (--this.#count > 0) return;
    // Reported while the hold is still in place, so that the event carries its token and node.
    this.host.holdEnded(this, performance.now() - hold.since);
    this.#hold = undefined;
    await hold.release(new LockError("NOT_HELD", "The lock was released.", { resource: this.resource }));
  }

  /** `await using lock = …` releases every acquisition still held when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    while (this.#hold) await this.release();
  }

  /** @internal */
  lossError(reason: string): LockLostError {
    return new LockLostError(this.resource, reason);
  }

  /** @internal The connection dropped (suspended), came back, or the hold is lost. */
  connectionChanged(change: ConnectionChange): number | undefined {
    return this.#hold?.connectionChanged(change);
  }

  async #contend(signal: AbortSignal | undefined, timeout: number | undefined): Promise<bigint> {
    const started = performance.now();
    const { options } = this;
    const granted = await enterQueue(this.host, {
      resource: this.resource,
      dir: this.path,
      rootDir: options.rootDir,
      recipe: this.recipe,
      mode: this.mode,
      data: ownerData(options.label),
      rule: exclusive,
      signal,
      timeout,
    });
    this.#hold = new Hold(this.host, this.resource, this.path, granted);
    this.#count = 1;
    this.host.holdStarted(this, performance.now() - started);
    return granted.token;
  }
}
