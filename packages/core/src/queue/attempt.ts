import type { Recipe } from "../channels.js";
import { LockError, LockTimeoutError, soughtIn } from "../errors.js";

/** What a wait is for: the resource, and the recipe that names it in messages (see `soughtIn`). */
export interface Sought {
  readonly resource: string;
  readonly recipe: Recipe;
}

/** The error of a wait given up because the caller's `signal` aborted; its reason is the cause. */
export const abortedError = ({ resource, recipe }: Sought, signal: AbortSignal): LockError =>
  new LockError("ABORTED", `Stopped waiting for ${soughtIn(recipe, resource)}.`, {
    resource,
    cause: signal.reason,
  });

/** The error of a wait that tried once (`timeout: 0`) and found that its turn had not come. */
export const triedOnceError = ({ resource, recipe }: Sought): LockError =>
  new LockTimeoutError(resource, 0, recipe);

/** What a wait needs to know of the connection: what it lacks while it is down. */
export interface ConnectionView {
  describeOutage(): string | undefined;
}

/**
 * The error of a wait whose `timeout` ran out: `TIMEOUT` means contention, so a wait that ran out
 * while ZooKeeper was out of reach is an outage, `CONNECTION`, saying to what and for how long.
 */
export function timeoutError(
  { resource, recipe }: Sought,
  timeout: number,
  connection: ConnectionView,
): LockError {
  const outage = connection.describeOutage();
  return outage === undefined
    ? new LockTimeoutError(resource, timeout, recipe)
    : new LockError(
        "CONNECTION",
        `Gave up waiting for ${soughtIn(recipe, resource)} after ${timeout} ms: ${outage}.`,
        { resource },
      );
}

/**
 * Why an acquisition stops waiting: the caller's signal, its timeout, or the end of the session it
 * is on. The timeout spans every session an attempt runs on (a manager from `connect()` starts an
 * attempt again on its next session). The AbortSignal that waits need is made only when something
 * waits: most acquisitions of an uncontended lock never do, and an AbortController with its
 * listeners is a noticeable part of such a cycle's CPU time.
 *
 * When several calls of a handle come to share the attempt, `share()` hands the decision to stop
 * from the first caller's terms to the calls' shared signal.
 */
export class Attempt {
  #reason: unknown;
  #controller: AbortController | undefined;
  #sessionOver: AbortSignal | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The signal that stops the attempt when it aborts, and the listener on it. */
  #stopSignal: AbortSignal | undefined;
  #onStopSignal: () => void;
  /** Whether the listener is on the stop signal (see `#follow`). */
  #following = false;
  #triesOnce: boolean;
  #onBlocked: (() => void) | undefined;
  #blocked = false;
  #disposed = false;
  /** Rejects the request `until()` awaits when the attempt stops first. */
  #onStop: ((reason: unknown) => void) | undefined;

  constructor(
    private readonly sought: Sought,
    userSignal: AbortSignal | undefined,
    timeout: number | undefined,
    connection: ConnectionView,
  ) {
    this.#triesOnce = timeout === 0;
    this.#stopSignal = userSignal;
    this.#onStopSignal = this.#onUserAbort;
    if (userSignal?.aborted) this.#onUserAbort();
    if (timeout)
      this.#timer = setTimeout(() => this.#stop(timeoutError(sought, timeout, connection)), timeout);
  }

  /** Follows the end of the session the attempt runs on now; undefined while it waits for one. */
  runOn(sessionOver: AbortSignal | undefined): void {
    if (this.#controller) {
      this.#sessionOver?.removeEventListener("abort", this.#onSessionOver);
      // A signal the previous session aborted stays aborted: the next wait needs a new one.
      if (this.#reason === undefined) this.#controller = undefined;
    }
    this.#sessionOver = sessionOver;
  }

  /** Why the callers' side stopped it (signal, timeout, or failure), whatever the session does. */
  get stopped(): unknown {
    // Unfollowed, the stop signal is read here instead (see `#follow`).
    if (this.#reason === undefined && !this.#following && !this.#disposed && this.#stopSignal?.aborted)
      this.#onStopSignal();
    return this.#reason;
  }

  /** Why it stopped, or undefined while it may go on. */
  get reason(): unknown {
    return this.stopped ?? (this.#sessionOver?.aborted ? this.#sessionOver.reason : undefined);
  }

  throwIfStopped(): void {
    const reason = this.reason;
    if (reason !== undefined) throw reason;
  }

  /**
   * The attempt failed with `error`: it is over, and nobody may join it any more. Returns why it
   * ended: the reason it stopped for, if it had, or `error`.
   */
  fail(error: unknown): unknown {
    this.#stop(this.reason ?? error);
    return this.#reason;
  }

  /**
   * The turn has not come. An attempt that tries once (timeout 0) gives up here with a
   * `LockTimeoutError`; a shared one tells its calls, some of which may try once.
   */
  blocked(): void {
    if (this.#triesOnce) throw triedOnceError(this.sought);
    this.#blocked = true;
    this.#onBlocked?.();
  }

  /** Whether the attempt tries once (a `timeout: 0` call that nobody shares). */
  get triesOnce(): boolean {
    return this.#triesOnce;
  }

  /**
   * From now on only `signal` (and the end of the session) stops the attempt, which no longer tries
   * once: the first caller's signal and timeout become that caller's own business. `onBlocked` runs
   * whenever the attempt finds its turn has not come, and at once if it already has. Does nothing
   * once the attempt is over.
   */
  share(signal: AbortSignal, onBlocked: () => void): void {
    if (this.#disposed || this.stopped !== undefined) return;
    this.#unfollow();
    this.#triesOnce = false;
    this.#onBlocked = onBlocked;
    this.#stopSignal = signal;
    this.#onStopSignal = () => this.#stop(signal.reason);
    if (signal.aborted) this.#onStopSignal();
    else this.#follow();
    if (this.#blocked) onBlocked();
  }

  /**
   * `request`'s outcome, unless the callers' side stops the attempt first (its timeout or signal):
   * then the reason. A request in flight cannot be called back, and on a server that stopped
   * answering it settles only when the client gives up on the connection (two thirds of the
   * session timeout), long after the call's deadline. For one request at a time.
   */
  until<T>(request: Promise<T>): Promise<T> {
    const stopped = this.stopped;
    if (stopped !== undefined) return Promise.reject(stopped);
    // Nothing but the session can stop it, and a session's end fails its requests by itself.
    if (this.#timer === undefined && this.#stopSignal === undefined) return request;
    this.#follow();
    return new Promise<T>((resolve, reject) => {
      this.#onStop = reject;
      request.then(
        (value) => {
          this.#onStop = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.#onStop = undefined;
          reject(error);
        },
      );
    });
  }

  /** Aborts when the attempt stops; for the waits of the attempt. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      const reason = this.reason;
      if (reason !== undefined) this.#controller.abort(reason);
      else {
        this.#follow();
        this.#sessionOver?.addEventListener("abort", this.#onSessionOver);
      }
    }
    return this.#controller.signal;
  }

  dispose(): void {
    this.#disposed = true;
    this.#unfollow();
    if (this.#controller) this.#sessionOver?.removeEventListener("abort", this.#onSessionOver);
  }

  /**
   * Listens to the stop signal, for the waits: until something waits (reads `signal`) or the
   * attempt is shared, `stopped` reads the signal instead. Most acquisitions never wait, and an
   * abort listener added and removed is a noticeable part of such a cycle with a signal (the
   * Express middleware passes one on every request).
   */
  #follow(): void {
    if (this.#following || !this.#stopSignal) return;
    this.#following = true;
    this.#stopSignal.addEventListener("abort", this.#onStopSignal);
  }

  #unfollow(): void {
    clearTimeout(this.#timer);
    if (!this.#following) return;
    this.#following = false;
    this.#stopSignal?.removeEventListener("abort", this.#onStopSignal);
  }

  #stop(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#onStop?.(reason);
  }

  #onUserAbort = () => {
    if (this.#stopSignal) this.#stop(abortedError(this.sought, this.#stopSignal));
  };

  // The end of a session stops the waits on it, not the attempt: it may go on on the next session.
  #onSessionOver = () => this.#controller?.abort(this.#sessionOver?.reason);
}
