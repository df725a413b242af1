import { LockError, LockTimeoutError } from "../errors.js";

/**
 * Why an acquisition stops waiting: the caller's signal, its timeout, or the end of the session it
 * is on. The timeout spans every session an attempt runs on (a manager from `connect()` starts an
 * attempt again on its next session). The AbortSignal that waits need is made only when something
 * waits: most acquisitions of an uncontended lock never do, and an AbortController with its
 * listeners is a noticeable part of such a cycle's CPU time.
 */
export class Attempt {
  #reason: unknown;
  #controller: AbortController | undefined;
  #sessionOver: AbortSignal | undefined;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly resource: string,
    private readonly userSignal: AbortSignal | undefined,
    timeout: number | undefined,
    /** Says what the connection lacks while it is down, to tell a timeout from an outage. */
    private readonly connection: { describeOutage(): string | undefined },
  ) {
    if (userSignal?.aborted) this.#onUserAbort();
    else userSignal?.addEventListener("abort", this.#onUserAbort);
    if (timeout) this.#timer = setTimeout(() => this.#onTimeout(timeout), timeout);
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

  /** Why the caller's side stopped it (signal or timeout), whatever the session does. */
  get stopped(): unknown {
    return this.#reason;
  }

  /** Why it stopped, or undefined while it may go on. */
  get reason(): unknown {
    return this.#reason ?? (this.#sessionOver?.aborted ? this.#sessionOver.reason : undefined);
  }

  throwIfStopped(): void {
    const reason = this.reason;
    if (reason !== undefined) throw reason;
  }

  /** Aborts when the attempt stops; for the waits of the attempt. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      const reason = this.reason;
      if (reason !== undefined) this.#controller.abort(reason);
      else this.#sessionOver?.addEventListener("abort", this.#onSessionOver);
    }
    return this.#controller.signal;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.userSignal?.removeEventListener("abort", this.#onUserAbort);
    if (this.#controller) this.#sessionOver?.removeEventListener("abort", this.#onSessionOver);
  }

  #stop(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  // TIMEOUT means contention: a wait that ran out while ZooKeeper was out of reach is an outage.
  #onTimeout(timeout: number): void {
    const outage = this.connection.describeOutage();
    this.#stop(
      outage === undefined
        ? new LockTimeoutError(this.resource, timeout)
        : new LockError(
            "CONNECTION",
            `Gave up waiting for the lock on "${this.resource}" after ${timeout} ms: ${outage}.`,
            { resource: this.resource },
          ),
    );
  }

  #onUserAbort = () =>
    this.#stop(
      new LockError("ABORTED", `Stopped waiting for the lock on "${this.resource}".`, {
        resource: this.resource,
        cause: this.userSignal?.reason,
      }),
    );

  #onSessionOver = () => this.#controller?.abort(this.#sessionOver?.reason);
}
