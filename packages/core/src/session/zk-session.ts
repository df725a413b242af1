import { EventEmitter, setMaxListeners } from "node:events";
import { LockError } from "../errors.js";
import { backoffDelay } from "./backoff.js";
import {
  type Created,
  type CreateModeNumber,
  isConnectionCode,
  type OnChange,
  rc,
  type SessionEnd,
  sessionEndCodes,
  sessionOverCodes,
  type ZkAcl,
  ZkCallError,
  type ZkDriver,
  type ZkStat,
} from "./zk-client.js";

export interface SessionEvents {
  /** The session's first connection. */
  connected: [];
  suspended: [];
  reconnected: [];
  /**
   * Cut off for the session timeout: the session must be presumed expired, though the client may
   * yet reconnect to it. The owner decides whether to give it up.
   */
  lost: [reason: string];
  /**
   * The session is over for good (expired, its client closed, or given up); `overSignal` aborted
   * with `error`; `reason` says why in a few words, for the holds it ends.
   */
  over: [error: LockError, reason: string];
}

export interface SessionOptions {
  /** The servers, for messages. */
  connectString: string;
  /** What to do about the session's end, appended to the error of everything it ends. */
  overAdvice: string;
}

/**
 * One ZooKeeper session seen through its connection state: connected, suspended (disconnected, the
 * session may live), or over. It runs on a {@link ZkDriver} (either client) and gives the queue
 * and the recipes the calls they make: once, again after connection losses while the session
 * lives, with a watch, and the deletion that must happen eventually.
 */
export class ZkSession extends EventEmitter<SessionEvents> {
  #connected: boolean;
  #everConnected = false;
  /** The session ended and its client is not to be called any more. */
  #stopped = false;
  #over: LockError | undefined;
  #endedBy: SessionEnd | undefined;
  #timeout: number;
  /** When the connection was lost (or the session started, before it first connected). */
  #disconnectedAt: number;
  #suspensions = 0;
  #lostTimer: NodeJS.Timeout | undefined;
  #waiters = new Set<{ resolve: () => void; reject: (error: unknown) => void }>();
  #overController = new AbortController();
  /** The waits of whileConnected(), which end at a suspension or the end of the session. */
  readonly #interruptions = new Set<() => void>();

  constructor(
    private readonly driver: ZkDriver,
    private readonly options: SessionOptions,
  ) {
    super();
    // Every waiting acquire listens on this signal, so many listeners are normal, not a leak.
    setMaxListeners(0, this.#overController.signal);
    this.#connected = driver.connected;
    this.#timeout = driver.timeout;
    this.#disconnectedAt = performance.now();
    driver.on("connected", () => this.#onConnect());
    driver.on("disconnected", () => this.#suspend());
    driver.on("over", (end) => this.#onOver(end));
    if (this.#connected) this.#onConnect();
  }

  get connected(): boolean {
    return this.#connected && !this.#stopped && this.driver.usable;
  }

  /**
   * How many times the connection dropped. Watch events are in zxid order only within one
   * connection: those the server sends for watches set again on reconnecting come in the client's
   * order of paths.
   */
  get suspensions(): number {
    return this.#suspensions;
  }

  /** Whether the session ever had a connection. */
  get established(): boolean {
    return this.#everConnected;
  }

  /** The error that ended the session, once it is over. */
  get over(): LockError | undefined {
    return this.#over;
  }

  /** How the client said the session ended, when it did (not when the session was given up). */
  get endedBy(): SessionEnd | undefined {
    return this.#endedBy;
  }

  /** Aborts, with a `CONNECTION` LockError, when the session has expired or the client was closed. */
  get overSignal(): AbortSignal {
    return this.#overController.signal;
  }

  /** The session id in hex, as node stats name their owner. */
  get sessionId(): string {
    return this.driver.sessionId;
  }

  /** The client the session currently runs on. */
  get client(): unknown {
    return this.driver.client;
  }

  /** The client's word on its failed connection attempts, if any. */
  get connectionFailures(): string | undefined {
    return this.driver.connectionFailures;
  }

  get connectString(): string {
    return this.options.connectString;
  }

  /** Milliseconds without a connection, or undefined while connected. */
  disconnectedFor(): number | undefined {
    return this.connected ? undefined : performance.now() - this.#disconnectedAt;
  }

  /**
   * Ends the session on purpose: pending acquisitions stop with `reason`, the clients this session
   * started (or was given to own) are closed — which ends the session at the server if one is
   * connected — and any other client is left as it is. Deletions already under way go on while
   * such a client stays connected.
   */
  close(reason: LockError): void {
    this.driver.detach();
    // A client that stays open may still finish the deletions of abandoned nodes.
    this.#end(reason, reason.message, { emit: false, keepClient: !this.driver.ownsClient });
    this.driver.closeOwned();
  }

  /** Gives the session up after it was lost (see the `lost` event): it ends, with `reason`. */
  giveUp(reason: string): void {
    if (this.#over) return;
    this.driver.detach();
    this.#end(this.#overError(reason), reason);
    this.driver.closeOwned({ connectedToo: false });
  }

  #onConnect(): void {
    if (this.#over) return;
    clearTimeout(this.#lostTimer);
    this.#timeout = this.driver.timeout;
    const wasConnected = this.#connected;
    this.#connected = true;
    for (const waiter of this.#waiters) waiter.resolve();
    this.#waiters.clear();
    if (!this.#everConnected) {
      this.#everConnected = true;
      this.emit("connected");
    } else if (!wasConnected) this.emit("reconnected");
  }

  #suspend(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#suspensions++;
    this.#disconnectedAt = performance.now();
    this.#interrupt();
    this.emit("suspended");
    // The client only hears of expiry once it reconnects, which may be never: after the negotiated
    // session timeout without a connection the session must be presumed gone.
    const timeout = Math.max(this.#timeout, 0);
    this.#lostTimer = setTimeout(() => this.#onLost(timeout), timeout);
    this.#lostTimer.unref();
  }

  #onLost(timeout: number): void {
    const reason = `no connection for the session timeout (${timeout} ms)`;
    this.emit("lost", reason);
    if (!this.driver.keepsTrying()) this.giveUp(reason);
  }

  #onOver(end: SessionEnd): void {
    if (this.#over) return;
    this.#endedBy = end;
    const reason =
      end === "expired"
        ? "the ZooKeeper session expired"
        : end === "authFailed"
          ? "ZooKeeper refused the client's authentication"
          : end === "closed"
            ? "the ZooKeeper client was closed"
            : `no connection for the session timeout (${this.#timeout} ms)`;
    this.#end(this.#overError(reason), reason);
  }

  #end(error: LockError, reason: string, { emit = true, keepClient = false } = {}): void {
    if (this.#over) return;
    this.#over = error;
    clearTimeout(this.#lostTimer);
    if (!keepClient) {
      this.#connected = false;
      this.#stopped = true;
      this.#interrupt();
    }
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    this.#overController.abort(error);
    if (emit) this.emit("over", error, reason);
  }

  #interrupt(): void {
    for (const stop of this.#interruptions) stop();
    this.#interruptions.clear();
  }

  #overError(reason: string): LockError {
    return new LockError("CONNECTION", `${reason}${this.options.overAdvice}`);
  }

  /** Resolves when connected; rejects when the session is over or `signal` aborts. */
  whenConnected(signal?: AbortSignal): Promise<void> {
    if (this.#over) return Promise.reject(this.#over);
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (error: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal?.reason);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /**
   * Whether a failed call may or may not have taken effect and is worth another try once the
   * session is connected (`whenConnected()` rejects if it is over instead): a connection loss, or
   * a client that closed under it while the session may live on through another.
   */
  mayRetry(error: unknown): boolean {
    return error instanceof ZkCallError && (isConnectionCode(error.rc) || sessionOverCodes.has(error.rc));
  }

  /** Sends one request; the promise settles with the reply, or a {@link ZkCallError}. */
  #call<T>(path: string, send: (driver: ZkDriver) => Promise<T>): Promise<T> {
    // A client that is closing may still take requests that it then never answers.
    if (this.#stopped || !this.driver.usable)
      return Promise.reject(new ZkCallError(rc.CONNECTIONLOSS, "no open client", path));
    return send(this.driver);
  }

  /**
   * Sends an idempotent request, again after every connection loss while the session lives, so
   * the caller sees either the reply or a final error.
   */
  async #retrying<T>(path: string, send: (driver: ZkDriver) => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let retry = 1; ; retry++) {
      try {
        return await this.#call(path, send);
      } catch (error) {
        if (!this.mayRetry(error)) throw error;
        await this.pauseBeforeRetry(retry, signal);
      }
    }
  }

  /**
   * Waits for a connection before retry number `retry`, and while connected for a growing pause
   * too: a call that fails again at once must not become a spin.
   */
  async pauseBeforeRetry(retry: number, signal?: AbortSignal): Promise<void> {
    if (this.connected && retry > 1) {
      await new Promise((resolve) => setTimeout(resolve, backoffDelay(retry - 1)));
    }
    await this.whenConnected(signal);
  }

  /**
   * Deletes a node of this session, again after every connection loss while the session lives
   * ("guaranteed deletion"): a node left behind would block every contender. A node already gone
   * counts as deleted, and so does a session that ended first (its ephemeral nodes went with it).
   */
  async deleteEventually(path: string): Promise<void> {
    try {
      await this.#retrying(path, (driver) => driver.delete(path));
    } catch (error) {
      if ((error instanceof ZkCallError && sessionEndCodes.has(error.rc)) || this.#over) return;
      throw error;
    }
  }

  /**
   * Waits for `work` while the connection holds; at a suspension or the end of the session it stops
   * waiting (the work goes on in the background) so callers such as `release()` never hang.
   */
  whileConnected(work: Promise<unknown>): Promise<void> {
    return this.#untilInterrupted<unknown, undefined>(work, (resolve) => resolve(undefined)) as Promise<void>;
  }

  /**
   * `work`'s outcome while the connection holds; at a suspension or the end of the session, a
   * rejection with `interrupted()` (the work goes on in the background).
   */
  unlessInterrupted<T>(work: Promise<T>, interrupted: () => unknown): Promise<T> {
    return this.#untilInterrupted<T, never>(work, (_resolve, reject) => reject(interrupted()));
  }

  #untilInterrupted<T, R>(
    work: Promise<T>,
    onInterrupt: (resolve: (value: R) => void, reject: (error: unknown) => void) => void,
  ): Promise<T | R> {
    // One promise, not a race of two: every release() waits here.
    return new Promise<T | R>((resolve, reject) => {
      if (!this.connected) return onInterrupt(resolve, reject);
      const stop = () => onInterrupt(resolve, reject);
      this.#interruptions.add(stop);
      work.then(
        (value) => {
          this.#interruptions.delete(stop);
          resolve(value);
        },
        (error: unknown) => {
          this.#interruptions.delete(stop);
          reject(error);
        },
      );
    });
  }

  /** Lists a directory's children with its stat, once. */
  list(path: string): Promise<[string[], ZkStat]> {
    return this.#call(path, (driver) => driver.list(path));
  }

  /** Lists a directory's children with its stat, again after connection losses. */
  listRetrying(path: string, signal?: AbortSignal): Promise<[string[], ZkStat]> {
    return this.#retrying(path, (driver) => driver.list(path), signal);
  }

  /**
   * Lists a directory's children with its stat after a sync, in one round trip and again after
   * connection losses. The listing shows every write the leader committed before the sync, even
   * when the session has moved to a server that had not applied them yet (such as the create whose
   * reply the connection loss took).
   */
  listSynced(path: string, signal?: AbortSignal): Promise<[string[], ZkStat]> {
    return this.#retrying(
      path,
      // A session's requests are answered in order: the listing waits for the sync at the server.
      (driver) => Promise.all([driver.sync(path), driver.list(path)]).then(([, listed]) => listed),
      signal,
    );
  }

  create(path: string, data: string, mode: CreateModeNumber): Promise<Created> {
    return this.#call(path, (driver) => driver.create(path, data, mode));
  }

  stat(path: string, signal?: AbortSignal): Promise<ZkStat> {
    return this.#retrying(path, (driver) => driver.stat(path), signal);
  }

  read(path: string, signal?: AbortSignal): Promise<[ZkStat, Buffer | string]> {
    return this.#retrying(path, (driver) => driver.read(path), signal);
  }

  /** Writes a node's data (any version), again after connection losses. */
  setData(path: string, data: string, signal?: AbortSignal): Promise<void> {
    return this.#retrying(path, (driver) => driver.setData(path, data), signal);
  }

  setAcl(path: string, acl: ZkAcl[]): Promise<void> {
    return this.#call(path, (driver) => driver.setAcl(path, acl));
  }

  /**
   * Reads a node and sets a one-shot watch on it; resolves to its stat and data, or undefined (and
   * sets no watch) when the node is gone. `onChange` hears whether the node was deleted. Like every
   * watch here, it also runs (not deleted) when the session had to move to another client, whose
   * server knew nothing of the watch: the waiter looks again. When `signal` aborts before the watch
   * fires, the watch is removed where the client can.
   */
  async watchNode(
    path: string,
    onChange: OnChange,
    signal?: AbortSignal,
  ): Promise<[ZkStat, Buffer | string] | undefined> {
    let fired = false;
    const abandon = () => this.driver.unwatchData(path, watch);
    const watch = (deleted: boolean) => {
      fired = true;
      signal?.removeEventListener("abort", abandon);
      onChange(deleted);
    };
    let node: [ZkStat, Buffer | string];
    try {
      node = await this.#call(path, (driver) => driver.watchData(path, watch));
    } catch (error) {
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
      throw error;
    }
    if (signal && !fired) {
      if (signal.aborted) abandon();
      else signal.addEventListener("abort", abandon, { once: true });
    }
    return node;
  }

  /**
   * Lists a node's children and sets a one-shot watch on them; resolves to the children, or
   * undefined (and sets no watch) when the node is gone.
   */
  async watchChildren(path: string, onChange: OnChange): Promise<string[] | undefined> {
    try {
      return await this.#call(path, (driver) => driver.watchChildren(path, onChange));
    } catch (error) {
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
      throw error;
    }
  }

  /** Sets a one-shot watch on a node's creation or deletion; resolves whether it exists now. */
  watchExists(path: string, onChange: OnChange): Promise<boolean> {
    return this.#call(path, (driver) => driver.watchExists(path, onChange));
  }
}
