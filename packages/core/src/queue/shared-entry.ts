import { type Attempt, abortedError, timeoutError, triedOnceError } from "./attempt.js";
import { enterQueue, type Granted, leaveQueue, type QueueHost, type QueueRequest } from "./queue.js";

/** One call waiting for a shared entry, on its own terms. */
interface Call<T> {
  readonly signal: AbortSignal | undefined;
  readonly timeout: number | undefined;
  resolve(value: T): void;
  reject(error: unknown): void;
  /** Set while the call watches its own terms (once the entry is shared). */
  timer?: NodeJS.Timeout | undefined;
  onAbort?: (() => void) | undefined;
}

/** What an entry asks of the queue: everything but the terms, which are each call's own. */
export type EntryRequest = Omit<QueueRequest, "signal" | "timeout" | "onAttempt">;

/**
 * One place in a queue that the overlapping calls of a handle wait for together, each on its own
 * terms. A call whose timeout passes or whose signal aborts gives up alone, at once, and the
 * attempt goes on for the others; only when the last call waiting gives up does the attempt stop,
 * and that call hears of it once the attempt has (the node's deletion goes on in the background).
 * When the turn comes, every call still waiting shares the grant: `grant` turns it into the calls'
 * value, once, knowing how many they are.
 *
 * A call with `timeout: 0` shares the attempt's first try: it gives up when the attempt finds that
 * its turn has not come (at once when the attempt already waits).
 *
 * A lone call, the usual case, costs no more than `enterQueue` itself: the attempt follows that
 * call's signal and timeout. Only when a second call joins does the entry make an AbortController
 * for the attempt, and each call a timer and a listener for its own terms.
 */
export class SharedEntry<T> {
  readonly #calls = new Set<Call<T>>();
  readonly #started = performance.now();
  #attempt: Attempt | undefined;
  #shared: AbortController | undefined;
  /** The attempt has found its turn not come at least once. */
  #waited = false;
  /** The last call, which gave up and hears of it once the attempt has stopped. */
  #leaving: { call: Call<T>; reason: unknown } | undefined;

  constructor(
    private readonly host: QueueHost,
    private readonly request: EntryRequest,
    private readonly grant: (granted: Granted, calls: number, waitMs: number) => T,
  ) {}

  /** Whether another call may join: calls wait and the attempt has not stopped. */
  get joinable(): boolean {
    return this.#calls.size > 0 && this.#attempt?.reason === undefined;
  }

  /** Whether a call has yet to hear how the entry went. */
  get pending(): boolean {
    return this.#calls.size > 0 || this.#leaving !== undefined;
  }

  /** Waits for the turn on the call's own terms; the first call starts the attempt. */
  join(signal: AbortSignal | undefined, timeout: number | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: Call<T> = { signal, timeout, resolve, reject };
      const first = this.#calls.size === 0;
      if (!first && !this.#shared) this.#share();
      this.#calls.add(call);
      if (first) this.#start(call);
      else this.#watch(call, 0);
    });
  }

  #start({ signal, timeout }: Call<T>): void {
    const onAttempt = (attempt: Attempt) => {
      this.#attempt = attempt;
    };
    // Object.assign, not `{ ...this.request, signal, … }`: on Node 20 a spread followed by more
    // keys costs microseconds, a few per cent of an uncontended cycle.
    const request = Object.assign({ signal, timeout, onAttempt }, this.request);
    enterQueue(this.host, request).then(this.#granted, this.#failed);
  }

  /** A second call joins: the attempt follows the entry from now on, and the first call its own terms. */
  #share(): void {
    this.#shared = new AbortController();
    this.#attempt?.share(this.#shared.signal, () => this.#onBlocked());
    for (const call of this.#calls) this.#watch(call, performance.now() - this.#started);
  }

  #watch(call: Call<T>, elapsed: number): void {
    const { signal, timeout } = call;
    if (signal?.aborted) {
      this.#giveUp(call, abortedError(this.request, signal));
      return;
    }
    if (timeout === 0) {
      if (this.#waited) {
        this.#giveUp(call, triedOnceError(this.request));
        return;
      }
    } else if (timeout !== undefined) {
      const giveUp = () => this.#giveUp(call, timeoutError(this.request, timeout, this.host));
      call.timer = setTimeout(giveUp, Math.max(timeout - elapsed, 0));
    }
    if (signal) {
      call.onAbort = () => this.#giveUp(call, abortedError(this.request, signal));
      signal.addEventListener("abort", call.onAbort, { once: true });
    }
  }

  #unwatch(call: Call<T>): void {
    clearTimeout(call.timer);
    if (call.onAbort) call.signal?.removeEventListener("abort", call.onAbort);
  }

  #giveUp(call: Call<T>, reason: unknown): void {
    if (!this.#calls.delete(call)) return;
    this.#unwatch(call);
    if (this.#calls.size > 0) {
      call.reject(reason);
      return;
    }
    // The last call: the attempt stops, and the call hears of it then.
    this.#leaving = { call, reason };
    this.#shared?.abort(reason);
  }

  #onBlocked(): void {
    if (this.#waited) return;
    this.#waited = true;
    for (const call of this.#calls) {
      if (call.timeout === 0) this.#giveUp(call, triedOnceError(this.request));
    }
  }

  #granted = (granted: Granted) => {
    const calls = this.#calls.size;
    if (calls === 0) {
      // Every call gave up while the grant was on its way: the node goes, as for any call given up.
      const { resource, dir } = this.request;
      leaveQueue(this.host, resource, dir, granted.session, granted.path);
      this.#failed(undefined);
      return;
    }
    let value: T;
    try {
      value = this.grant(granted, calls, performance.now() - this.#started);
    } catch (error) {
      this.#failed(error);
      return;
    }
    for (const call of this.#calls) {
      this.#unwatch(call);
      call.resolve(value);
    }
    this.#calls.clear();
  };

  #failed = (error: unknown) => {
    for (const call of this.#calls) {
      this.#unwatch(call);
      call.reject(error);
    }
    this.#calls.clear();
    const leaving = this.#leaving;
    this.#leaving = undefined;
    // The last call hears why it gave up, not how the attempt it stopped ended.
    leaving?.call.reject(leaving.reason);
  };
}
