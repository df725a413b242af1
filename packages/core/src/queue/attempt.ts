import { LockError, LockTimeoutError } from "../errors.js";

/**
 * Why an acquisition stops waiting: the caller's signal, its timeout, or the end of the session.
 * The AbortSignal that waits need is made only when something waits: most acquisitions of an
 * uncontended lock never do, and an AbortController with its listeners is a noticeable part of
 * such a cycle's CPU time.
 */
export class Attempt {
  #reason: unknown;
  #controller: AbortController | undefined;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly resource: string,
    private readonly userSignal: AbortSignal | undefined,
    timeout: number | undefined,
    private readonly sessionOver: AbortSignal,
  ) {
    if (userSignal?.aborted) this.#onUserAbort();
    else userSignal?.addEventListener("abort", this.#onUserAbort);
    if (timeout) this.#timer = setTimeout(() => this.#stop(new LockTimeoutError(resource, timeout)), timeout);
  }

  /** Why it stopped, or undefined while it may go on. */
  get reason(): unknown {
    return this.#reason ?? (this.sessionOver.aborted ? this.sessionOver.reason : undefined);
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
      else this.sessionOver.addEventListener("abort", this.#onSessionOver);
    }
    return this.#controller.signal;
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.userSignal?.removeEventListener("abort", this.#onUserAbort);
    if (this.#controller) this.sessionOver.removeEventListener("abort", this.#onSessionOver);
  }

  #stop(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  #onUserAbort = () =>
    this.#stop(
      new LockError("ABORTED", `Stopped waiting for the lock on "${this.resource}".`, {
        resource: this.resource,
        cause: this.userSignal?.reason,
      }),
    );

  #onSessionOver = () => this.#stop(this.sessionOver.reason);
}
