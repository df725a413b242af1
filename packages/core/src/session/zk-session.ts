import { EventEmitter, setMaxListeners } from "node:events";
import { LockError } from "../errors.js";
import { backoffDelay } from "./backoff.js";
import {
  type Callback,
  type ClientFactory,
  clientState,
  closeCode,
  isConnectionCode,
  type NativeCalls,
  ownClientSettings,
  rc,
  SESSION_EVENT,
  sessionEndCodes,
  sessionOverCodes,
  startClient,
  type Watcher,
  type ZkAcl,
  type ZkAuth,
  ZkCallError,
  type ZkStat,
  type ZooKeeperClient,
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
  /** The servers, for messages and for clients that rejoin the session. */
  connectString: string;
  /**
   * Makes a client that rejoins this session when its client closes by itself while the session
   * may still live; without it, such a close ends the session.
   */
  createClient: ClientFactory | undefined;
  /** Authentication added to every client this session starts. */
  auth: readonly ZkAuth[];
  /** Whether the first client is the manager's own, to be closed with the session. */
  ownsClient: boolean;
  /** What to do about the session's end, appended to the error of everything it ends. */
  overAdvice: string;
}

/**
 * One ZooKeeper session seen through its connection state: connected, suspended (disconnected, the
 * session may live), or over. It turns callbacks into promises that keep the result code.
 *
 * A session may outlive its client. The npm `zookeeper` binding sometimes closes a client by
 * itself, reporting -112 ("expired"), although the server never expired the session: after ten
 * polls of its socket that found nothing to read (which is what a socket inherited by a child
 * process produces once the connection drops). The session then still lives at the server with
 * its ephemeral nodes, so with `createClient` a fresh client rejoins it (same id and password),
 * again with a growing pause, until one connects or the session timeout has passed since the
 * connection was lost. A fresh client the server tells that the session expired closes before its
 * pending requests are failed, while one closed by the binding fails them first: that order tells a
 * real expiry from another false close.
 */
export class ZkSession extends EventEmitter<SessionEvents> {
  #client: ZooKeeperClient;
  #calls: NativeCalls;
  /** The current client must not be called: it failed a call as closing, or closed. */
  #unusable = false;
  #connected: boolean;
  #everConnected = false;
  #over: LockError | undefined;
  #id: string | undefined;
  #password: string | undefined;
  #timeout: number;
  /** When the connection was lost (or the session started, before it first connected). */
  #disconnectedAt: number;
  #lostTimer: NodeJS.Timeout | undefined;
  #rejoinTimer: NodeJS.Timeout | undefined;
  #rejoins = 0;
  /** Watches set through a client that was replaced fire nowhere: wake their waiters on connect. */
  #wakeWatchersOnConnect = false;
  readonly #watchers = new Set<() => void>();
  readonly #owned = new Set<ZooKeeperClient>();
  /** Rejoining clients whose canary request is still pending (see the class comment). */
  readonly #canaryPending = new WeakSet<ZooKeeperClient>();
  readonly #listeners = new Map<ZooKeeperClient, [string, (...args: unknown[]) => void][]>();
  #waiters = new Set<{ resolve: () => void; reject: (error: unknown) => void }>();
  #overController = new AbortController();
  /** The waits of whileConnected(), which end at a suspension or the end of the session. */
  readonly #interruptions = new Set<() => void>();

  constructor(
    client: ZooKeeperClient,
    private readonly options: SessionOptions,
  ) {
    super();
    this.#client = client;
    this.#calls = client.native;
    // Every waiting acquire listens on this signal, so many listeners are normal, not a leak.
    setMaxListeners(0, this.#overController.signal);
    this.#connected = client.state === clientState.CONNECTED;
    this.#timeout = client.timeout;
    this.#disconnectedAt = performance.now();
    if (options.ownsClient) this.#owned.add(client);
    this.#follow(client);
    if (this.#connected) this.#onConnect(client);
  }

  get connected(): boolean {
    return this.#connected && !this.#unusable;
  }

  /** Whether the session ever had a connection. */
  get established(): boolean {
    return this.#everConnected;
  }

  /** The error that ended the session, once it is over. */
  get over(): LockError | undefined {
    return this.#over;
  }

  /** Aborts, with a `CONNECTION` LockError, when the session has expired or the client was closed. */
  get overSignal(): AbortSignal {
    return this.#overController.signal;
  }

  get sessionId(): string {
    return this.#id ?? String(this.#client.client_id);
  }

  /** The client the session currently runs on. */
  get client(): ZooKeeperClient {
    return this.#client;
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
    for (const client of this.#listeners.keys()) this.#unfollow(client);
    // A client that stays open may still finish the deletions of abandoned nodes.
    this.#end(reason, reason.message, { emit: false, keepClient: !this.#owned.has(this.#client) });
    for (const client of this.#owned) client.close();
    this.#owned.clear();
  }

  /** Gives the session up after it was lost (see the `lost` event): it ends, with `reason`. */
  giveUp(reason: string): void {
    if (this.#over) return;
    this.#end(this.#overError(reason), reason);
    for (const client of this.#owned) if (client.state !== clientState.CONNECTED) client.close();
  }

  #follow(client: ZooKeeperClient): void {
    const listeners: [string, (...args: unknown[]) => void][] = [
      ["connect", () => this.#onConnect(client)],
      ["connecting", () => this.#onConnecting(client)],
      ["close", (...[, code]) => this.#onClose(client, code)],
    ];
    for (const [event, listener] of listeners) client.on(event, listener);
    this.#listeners.set(client, listeners);
  }

  #unfollow(client: ZooKeeperClient): void {
    for (const [event, listener] of this.#listeners.get(client) ?? []) client.off(event, listener);
    this.#listeners.delete(client);
  }

  #onConnect(client: ZooKeeperClient): void {
    if (client !== this.#client || this.#over) return;
    clearTimeout(this.#lostTimer);
    this.#id = String(client.client_id);
    this.#password = String(client.client_password);
    this.#timeout = client.timeout;
    this.#rejoins = 0;
    const wasConnected = this.#connected;
    this.#connected = true;
    for (const waiter of this.#waiters) waiter.resolve();
    this.#waiters.clear();
    if (this.#wakeWatchersOnConnect) {
      this.#wakeWatchersOnConnect = false;
      for (const wake of [...this.#watchers]) wake();
    }
    if (!this.#everConnected) {
      this.#everConnected = true;
      this.emit("connected");
    } else if (!wasConnected) this.emit("reconnected");
  }

  #onConnecting(client: ZooKeeperClient): void {
    if (client === this.#client) this.#suspend();
  }

  #suspend(): void {
    if (!this.#connected) return;
    this.#connected = false;
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
    // A client of its own still trying may yet reconnect to the session; rejoining ones only tried.
    if (this.#rejoins > 0) this.giveUp(reason);
  }

  #onClose(client: ZooKeeperClient, code: unknown): void {
    this.#unfollow(client);
    this.#owned.delete(client);
    if (client !== this.#client || this.#over) return;
    this.#unusable = true;
    const expired = code === closeCode.EXPIRED;
    // A rejoining client whose canary is still pending heard "expired" from a server.
    if (expired && !this.#canaryPending.has(client) && this.#mayRejoin()) {
      this.#suspend();
      this.#interrupt();
      this.#scheduleRejoin();
      return;
    }
    const reason = expired
      ? "the ZooKeeper session expired"
      : code === closeCode.AUTH_FAILED
        ? "ZooKeeper refused the client's authentication"
        : "the ZooKeeper client was closed";
    this.#end(this.#overError(reason), reason);
  }

  #mayRejoin(): boolean {
    const since = this.#connected ? performance.now() : this.#disconnectedAt;
    return (
      this.options.createClient !== undefined &&
      this.#everConnected &&
      performance.now() - since < Math.max(this.#timeout, 0)
    );
  }

  #scheduleRejoin(): void {
    // Not from inside the closing client's callback, and later each time: a false close repeats
    // at once for as long as its cause lasts.
    this.#rejoinTimer = setTimeout(() => this.#rejoin(), backoffDelay(++this.#rejoins));
  }

  #rejoin(): void {
    this.#rejoinTimer = undefined;
    if (this.#over) return;
    if (!this.#mayRejoin()) {
      this.giveUp(`no connection for the session timeout (${this.#timeout} ms)`);
      return;
    }
    let client: ZooKeeperClient;
    try {
      client = this.#start(
        this.options.createClient!({
          connect: this.options.connectString,
          timeout: this.#timeout,
          client_id: this.#id!,
          client_password: this.#password!,
          ...ownClientSettings,
        }),
      );
    } catch {
      this.#scheduleRejoin();
      return;
    }
    this.#client = client;
    this.#calls = client.native;
    this.#unusable = false;
    this.#wakeWatchersOnConnect = true;
    this.#sendCanary(client);
  }

  /** Starts a client of this session's own, with its authentication. */
  #start(client: ZooKeeperClient): ZooKeeperClient {
    this.#follow(client);
    try {
      startClient(client, this.options.auth, this.options.connectString);
    } catch (error) {
      this.#unfollow(client);
      throw error;
    }
    this.#owned.add(client);
    return client;
  }

  // A request queued before the rejoining client connects; a connection attempt that fails fails it
  // with a connection loss, and then it is sent again.
  #sendCanary(client: ZooKeeperClient): void {
    this.#canaryPending.add(client);
    const sent = client.native.a_exists("/", false, (code) => {
      this.#canaryPending.delete(client);
      if (isConnectionCode(code) && client === this.#client && !this.#over) this.#sendCanary(client);
    });
    if (sent !== rc.OK) this.#canaryPending.delete(client);
  }

  #end(error: LockError, reason: string, { emit = true, keepClient = false } = {}): void {
    if (this.#over) return;
    this.#over = error;
    clearTimeout(this.#lostTimer);
    clearTimeout(this.#rejoinTimer);
    this.#rejoinTimer = undefined;
    if (!keepClient) {
      this.#connected = false;
      this.#unusable = true;
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
  call<T extends unknown[]>(path: string, send: (cb: Callback<T>) => number): Promise<T> {
    // A client that is closing may still take requests that it then never answers.
    if (this.#unusable) return Promise.reject(new ZkCallError(rc.CONNECTIONLOSS, "no open client", path));
    return new Promise((resolve, reject) => {
      const sent = send((code, message, ...result) => {
        if (code === rc.OK) return resolve(result);
        if (sessionOverCodes.has(code)) this.#unusable = true;
        reject(new ZkCallError(code, message, path));
      });
      if (typeof sent === "number" && sent !== rc.OK) {
        if (sessionOverCodes.has(sent)) this.#unusable = true;
        reject(new ZkCallError(sent, "a refusal to send", path));
      }
    });
  }

  /**
   * Sends an idempotent request, again after every connection loss while the session lives, so
   * the caller sees either the reply or a final error.
   */
  async retrying<T extends unknown[]>(
    path: string,
    send: (calls: NativeCalls, cb: Callback<T>) => number,
    signal?: AbortSignal,
  ): Promise<T> {
    for (let retry = 1; ; retry++) {
      try {
        return await this.call<T>(path, (cb) => send(this.#calls, cb));
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
      await this.retrying<[]>(path, (calls, cb) => calls.a_delete_(path, -1, cb));
    } catch (error) {
      if ((error instanceof ZkCallError && sessionEndCodes.has(error.rc)) || this.#over) return;
      throw error;
    }
  }

  /**
   * Waits for `work` while the connection holds; at a suspension or the end of the session it stops
   * waiting (the work goes on in the background) so callers such as `release()` never hang.
   */
  async whileConnected(work: Promise<unknown>): Promise<void> {
    if (!this.connected) return;
    let stop = () => {};
    const interrupted = new Promise<void>((resolve) => {
      stop = resolve;
    });
    this.#interruptions.add(stop);
    try {
      await Promise.race([work, interrupted]);
    } finally {
      this.#interruptions.delete(stop);
    }
  }

  /** Lists a directory's children with its stat, once. */
  list(path: string): Promise<[string[], ZkStat]> {
    return this.call<[string[], ZkStat]>(path, (cb) => this.#calls.a_get_children2(path, false, cb));
  }

  /** Lists a directory's children with its stat, again after connection losses. */
  listRetrying(path: string, signal?: AbortSignal): Promise<[string[], ZkStat]> {
    return this.retrying<[string[], ZkStat]>(
      path,
      (calls, cb) => calls.a_get_children2(path, false, cb),
      signal,
    );
  }

  create(path: string, data: string, mode: number): Promise<string> {
    return this.call<[string]>(path, (cb) => this.#calls.a_create(path, data, mode, cb)).then(
      ([created]) => created,
    );
  }

  async stat(path: string, signal?: AbortSignal): Promise<ZkStat> {
    const [stat] = await this.retrying<[ZkStat]>(
      path,
      (calls, cb) => calls.a_exists(path, false, cb),
      signal,
    );
    return stat;
  }

  read(path: string, signal?: AbortSignal): Promise<[ZkStat, Buffer | string]> {
    return this.retrying<[ZkStat, Buffer | string]>(
      path,
      (calls, cb) => calls.a_get(path, false, cb),
      signal,
    );
  }

  /** Writes a node's data (any version), again after connection losses. */
  setData(path: string, data: string, signal?: AbortSignal): Promise<unknown> {
    return this.retrying<[ZkStat]>(path, (calls, cb) => calls.a_set(path, data, -1, cb), signal);
  }

  setAcl(path: string, acl: ZkAcl[]): Promise<unknown> {
    return this.call<[]>(path, (cb) => this.#client.a_set_acl(path, -1, acl, cb));
  }

  /**
   * Reads a node and sets a one-shot watch on it; resolves to its stat and data, or undefined (and
   * sets no watch) when the node is gone. Like every watch here, `onChange` also runs when the
   * session moves to another client, whose server knows nothing of the watch: the waiter looks again.
   */
  async watchNode(path: string, onChange: () => void): Promise<[ZkStat, Buffer | string] | undefined> {
    const watch = this.#oneShot(onChange);
    try {
      return await this.call<[ZkStat, Buffer | string]>(path, (cb) => this.#calls.aw_get(path, watch, cb));
    } catch (error) {
      watch.drop();
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
      throw error;
    }
  }

  /**
   * Lists a node's children and sets a one-shot watch on them; resolves to the children, or
   * undefined (and sets no watch) when the node is gone.
   */
  async watchChildren(path: string, onChange: () => void): Promise<string[] | undefined> {
    const watch = this.#oneShot(onChange);
    try {
      const [children] = await this.call<[string[], ZkStat]>(path, (cb) =>
        this.#calls.aw_get_children2(path, watch, cb),
      );
      return children;
    } catch (error) {
      watch.drop();
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
      throw error;
    }
  }

  /** Sets a one-shot watch on a node's creation or deletion; resolves whether it exists now. */
  async watchExists(path: string, onChange: () => void): Promise<boolean> {
    const watch = this.#oneShot(onChange);
    try {
      await this.call<[ZkStat]>(path, (cb) => this.#calls.aw_exists(path, watch, cb));
      return true;
    } catch (error) {
      // Unlike the other reads, exists() leaves its watch in place for a node that is not there.
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return false;
      watch.drop();
      throw error;
    }
  }

  /**
   * A watcher that calls `onChange` once, at the first change of the node itself, or when the
   * session moves to another client (see `#wakeWatchersOnConnect`); `drop()` forgets it when the
   * call that would have set it failed.
   */
  #oneShot(onChange: () => void): Watcher & { drop(): void } {
    let fired = false;
    const fire = () => {
      if (fired) return;
      fired = true;
      this.#watchers.delete(fire);
      onChange();
    };
    this.#watchers.add(fire);
    // Session events reach node watchers too; only a change of the node itself matters here.
    const watcher: Watcher = (type) => {
      if (type !== SESSION_EVENT) fire();
    };
    return Object.assign(watcher, { drop: () => this.#watchers.delete(fire) });
  }
}
