import type { HoldMode, Recipe } from "../channels.js";
import { isLockError, LockError, LockLostError, withResource } from "../errors.js";
import { type AcquireOptions, type ResolvedLockOptions, validateAcquireOptions } from "../options.js";
import { abortedError } from "../queue/attempt.js";
import { type ConnectionChange, Hold, type Holder } from "../queue/hold.js";
import type { Granted, QueueHost } from "../queue/queue.js";
import type { QueueRule } from "../queue/rules.js";
import { SharedEntry } from "../queue/shared-entry.js";

/** What the manager hears of a hold that ended with `release()`. */
export interface EndedHold {
  path: string;
  token: bigint;
  /** Set when the hold had been lost before it was released (the manager reported the loss). */
  lost: LockLostError | undefined;
}

/** What a lock needs from its manager: the queue's needs, and word of holds starting and ending. */
export interface LockHost extends QueueHost {
  holdStarted(holder: Holder, waitMs: number): void;
  holdEnded(holder: Holder, hold: EndedHold, holdMs: number): void;
  /** A hold lost while its session lives (a leader's node deleted from outside), reported as one lost with its session. */
  holdLost(holder: Holder, error: LockLostError): void;
}

/** Where a lock stands: not held, being acquired, held, held while disconnected, or lost. */
export type LockState = "idle" | "acquiring" | "held" | "suspended" | "lost";

/**
 * What a lock and a semaphore have in common: a handle that holds one node of a resource's queue,
 * re-entrant, with overlapping calls sharing one place in the queue (see `ZkLock`). A subclass
 * says which node it asks for (its rule) and how its messages name what it holds.
 */
export abstract class QueueHandle implements Holder {
  #hold: Hold | undefined;
  /** How many acquisitions of the current hold are not yet released. */
  #count = 0;
  /** @internal */
  abstract readonly recipe: Recipe;
  /** @internal What the handle's node asks for (its rule's kind), for events and diagnostics. */
  abstract readonly mode: HoldMode;
  /** @internal What the handle's node asks for. */
  protected abstract readonly rule: QueueRule;
  /** @internal What the handle holds, in messages: `the lock on "invoice:42"`. */
  protected abstract readonly held: string;
  /** The place in the queue that the calls of the current acquisition wait for. */
  #entry: SharedEntry<bigint> | undefined;
  /** How the last hold ended, for the reason of `signal` once nothing is held. */
  #lastEnd: LockLostError | "released" | undefined;
  /** The error of the last `acquire()` that failed since the handle last held, for `release()`. */
  #lastFailure: unknown;

  /** @internal */
  constructor(
    protected readonly host: LockHost,
    /** The resource as the caller named it. */
    readonly resource: string,
    /** The resource's own directory in ZooKeeper. */
    readonly path: string,
    protected readonly options: ResolvedLockOptions,
  ) {}

  get state(): LockState {
    if (this.#hold) return this.#hold.lost ? "lost" : this.#hold.suspended ? "suspended" : "held";
    return this.#entry?.pending ? "acquiring" : "idle";
  }

  /** Whether this handle holds and has not lost its hold. */
  get isHeld(): boolean {
    return this.#hold !== undefined && this.#hold.lost === undefined;
  }

  /** The fencing token of the current hold, or undefined when not holding. */
  get token(): bigint | undefined {
    return this.#hold?.token;
  }

  /** The node of the current hold. */
  get nodePath(): string | undefined {
    return this.#hold?.path;
  }

  /** How many times the current hold was acquired and not yet released. */
  get holdCount(): number {
    return this.#hold ? this.#count : 0;
  }

  /**
   * Hand it to the work done under the hold, so that the work stops when the hold ends: it aborts
   * with a `LockLostError` when the hold is lost, and also when the hold is released (a `LockError`
   * with code `NOT_HELD` and the message `The lock on "…" was released.`, or `The permit of "…"…`),
   * since work still running then is no longer protected. Read when nothing is held, it is already
   * aborted: with how the last hold ended, or `NOT_HELD` (`… is not held.`) when the handle never held.
   */
  get signal(): AbortSignal {
    return this.#hold?.signal ?? AbortSignal.abort(this.#endReason());
  }

  #endReason(): LockError {
    const end = this.#lastEnd;
    if (end === undefined)
      return new LockError("NOT_HELD", `${capitalized(this.held)} is not held.`, { resource: this.resource });
    if (end === "released")
      return new LockError("NOT_HELD", `${capitalized(this.held)} was released.`, {
        resource: this.resource,
      });
    return end;
  }

  /**
   * Waits for the turn and resolves to the hold's fencing token (see the subclass for what it
   * guarantees). Acquiring a held handle again counts up and resolves to the same token; calls
   * that overlap while the handle acquires each keep their own timeout and signal (see `ZkLock`).
   *
   * Rejects with `LockTimeoutError` after the timeout, a `LockError` with code `ABORTED` when the
   * signal aborts (also when it already has, even if the handle holds), `LOST` when the handle's
   * hold was lost, `CONNECTION` when the session ends, or `CONFLICT` when processes use the
   * resource in ways that cannot queue together; in each case nothing is left behind, and the
   * error names the resource.
   */
  async acquire(options?: AcquireOptions): Promise<bigint> {
    try {
      const { signal, timeout = this.options.acquireTimeout } = validateAcquireOptions(
        options,
        "acquire() options",
      );
      const hold = this.#hold;
      if (hold) {
        if (hold.lost) throw hold.lost;
        if (signal?.aborted) throw abortedError(this, signal);
        this.#count++;
        return hold.token;
      }
      if (!this.#entry?.joinable) {
        const request = {
          resource: this.resource,
          dir: this.path,
          rootDir: this.options.rootDir,
          recipe: this.recipe,
          label: this.options.label,
          rule: this.rule,
        };
        this.#entry = new SharedEntry(this.host, request, this.#granted);
      }
      return await this.#entry.join(signal, timeout);
    } catch (error) {
      const failure = withResource(error, this.resource);
      this.#lastFailure = failure;
      throw failure;
    }
  }

  /** Takes the turn if it has come, without waiting: the token, or undefined when others hold. */
  async tryAcquire(): Promise<bigint | undefined> {
    try {
      return await this.acquire({ timeout: 0 });
    } catch (error) {
      if (isLockError(error, "TIMEOUT")) return undefined;
      throw error;
    }
  }

  /**
   * Counts one acquisition down and, at zero, deletes the node so that the next waiters get their turn.
   * After a loss it resolves without touching any other owner's node.
   *
   * Rejects with code `NOT_HELD` when the handle holds nothing. When an `acquire()` on the handle
   * failed since it last held, that error is the `cause` and its message is part of this one, so
   * that `try { await lock.acquire() } finally { await lock.release() }` does not hide why the
   * hold was not acquired; acquiring before `try` avoids the second error altogether.
   */
  async release(): Promise<void> {
    const hold = this.#hold;
    if (!hold) throw this.#notHeld();
    if (--this.#count > 0) return;
    this.#hold = undefined;
    this.#lastEnd = hold.lost ?? "released";
    this.host.holdEnded(this, hold, performance.now() - hold.since);
    try {
      // After a loss the signal has its reason already: this one is for a hold that was released.
      await hold.release(() => this.#endReason());
    } catch (error) {
      throw withResource(error, this.resource);
    }
  }

  #notHeld(): LockError {
    const failure = this.#lastFailure;
    const why = failure === undefined ? "." : `; the last acquire() on it failed: ${sentence(failure)}`;
    return new LockError("NOT_HELD", `release() without a hold on "${this.resource}"${why}`, {
      resource: this.resource,
      cause: failure,
    });
  }

  /** `await using handle = …` releases every acquisition still held when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    while (this.#hold) await this.release();
  }

  /** @internal */
  lossError(reason: string): LockLostError {
    const error = new LockLostError(this.resource, reason);
    error.message = `${capitalized(this.held)} was lost: ${reason}.`;
    return error;
  }

  /** @internal The connection dropped (suspended), came back, or the hold is lost. */
  connectionChanged(change: ConnectionChange): number | undefined {
    return this.#hold?.connectionChanged(change);
  }

  /** The turn came for `calls` calls at once: they share one hold. */
  #granted = (granted: Granted, calls: number, waitMs: number): bigint => {
    this.#hold = new Hold(this.host, this.resource, this.path, granted);
    this.#count = calls;
    this.#lastFailure = undefined;
    this.host.holdStarted(this, waitMs);
    return granted.token;
  };
}

/** An error's message as the end of a sentence. */
const sentence = (error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
};

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
