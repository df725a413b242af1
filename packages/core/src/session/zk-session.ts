import { EventEmitter, setMaxListeners } from "node:events";
import { LockError } from "../errors.js";
import {
  type Callback,
  CONNECTED_STATE,
  isConnectionCode,
  type NativeCalls,
  rc,
  SESSION_EVENT,
  sessionEndCodes,
  type Watcher,
  type ZkAcl,
  ZkCallError,
  type ZkStat,
  type ZooKeeperClient,
} from "./zk-client.js";

export interface SessionEvents {
  suspended: [];
  reconnected: [];
  /** Cut off for longer than the session timeout, or the session expired or closed. */
  lost: [reason: string];
}

/**
 * One ZooKeeper session seen through its connection state: connected, suspended (disconnected, the
 * session may live), or over. It turns callbacks into promises that keep the result code.
 */
export class ZkSession extends EventEmitter<SessionEvents> {
  #connected: boolean;
  #over: string | undefined;
  #lostTimer: NodeJS.Timeout | undefined;
  #waiters = new Set<{ resolve: () => void; reject: (error: unknown) => void }>();
  #overController = new AbortController();
  /** The waits of whileConnected(), which end at a suspension or the end of the session. */
  readonly #interruptions = new Set<() => void>();

  readonly #calls: NativeCalls;

  constructor(readonly client: ZooKeeperClient) {
    super();
    this.#calls = client.native;
    // Every waiting acquire listens on this signal, so many listeners are normal, not a leak.
    setMaxListeners(0, this.#overController.signal);
    this.#connected = client.state === CONNECTED_STATE;
    client.on("connect", this.#onConnect);
    client.on("connecting", this.#onConnecting);
    client.on("close", this.#onClose);
    // A configured client that was never started has no session timeout yet; start it.
    if (client.timeout === -1) client.init({});
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Aborts, with a `CONNECTION` LockError, when the session has expired or the client was closed. */
  get overSignal(): AbortSignal {
    return this.#overController.signal;
  }

  get sessionId(): string {
    return String(this.client.client_id);
  }

  /**
   * Stops following the client: the manager is done with this session. Pending acquisitions stop
   * with `reason`; deletions already under way go on while the client stays connected.
   */
  detach(reason: LockError): void {
    this.client.off("connect", this.#onConnect);
    this.client.off("connecting", this.#onConnecting);
    this.client.off("close", this.#onClose);
    clearTimeout(this.#lostTimer);
    if (!this.#overController.signal.aborted) this.#overController.abort(reason);
  }

  #onConnect = () => {
    clearTimeout(this.#lostTimer);
    const wasSuspended = !this.#connected;
    this.#connected = true;
    for (const waiter of this.#waiters) waiter.resolve();
    this.#waiters.clear();
    if (wasSuspended) this.emit("reconnected");
  };

  #onConnecting = () => {
    if (!this.#connected) return;
    this.#connected = false;
    this.#interrupt();
    this.emit("suspended");
    // The client only hears of expiry once it reconnects, which may be never: after the negotiated
    // session timeout without a connection the session must be presumed gone.
    const timeout = Math.max(this.client.timeout, 0);
    this.#lostTimer = setTimeout(
      () => this.emit("lost", `no connection for the session timeout (${timeout} ms)`),
      timeout,
    );
    this.#lostTimer.unref();
  };

  #onClose = (...[, code]: unknown[]) => {
    clearTimeout(this.#lostTimer);
    this.#connected = false;
    this.#interrupt();
    this.#over =
      code === rc.SESSIONEXPIRED ? "the ZooKeeper session expired" : "the ZooKeeper client was closed";
    const error = this.#overError();
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    this.#overController.abort(error);
    this.emit("lost", this.#over);
  };

  #interrupt(): void {
    for (const stop of this.#interruptions) stop();
    this.#interruptions.clear();
  }

  #overError(): LockError {
    return new LockError("CONNECTION", `${this.#over}; create a new client and call init() with it.`);
  }

  /** Resolves when connected; rejects when the session is over or `signal` aborts. */
  whenConnected(signal?: AbortSignal): Promise<void> {
    if (this.#over) return Promise.reject(this.#overError());
    if (this.#connected) return Promise.resolve();
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

  /** Sends one request; the promise settles with the reply, or a {@link ZkCallError}. */
  call<T extends unknown[]>(path: string, send: (cb: Callback<T>) => number): Promise<T> {
    return new Promise((resolve, reject) => {
      const sent = send((code, message, ...result) =>
        code === rc.OK ? resolve(result) : reject(new ZkCallError(code, message, path)),
      );
      if (typeof sent === "number" && sent !== rc.OK)
        reject(new ZkCallError(sent, "a refusal to send", path));
    });
  }

  /**
   * Sends an idempotent request, again after every connection loss while the session lives, so
   * the caller sees either the reply or a final error.
   */
  async retrying<T extends unknown[]>(
    path: string,
    send: (cb: Callback<T>) => number,
    signal?: AbortSignal,
  ): Promise<T> {
    for (;;) {
      try {
        return await this.call(path, send);
      } catch (error) {
        if (!(error instanceof ZkCallError) || !isConnectionCode(error.rc)) throw error;
        await this.whenConnected(signal);
      }
    }
  }

  /**
   * Deletes a node of this session, again after every connection loss while the session lives
   * ("guaranteed deletion"): a node left behind would block every contender. A node already gone
   * counts as deleted, and so does a session that ended first (its ephemeral nodes went with it).
   */
  async deleteEventually(path: string): Promise<void> {
    try {
      await this.retrying<[]>(path, (cb) => this.#calls.a_delete_(path, -1, cb));
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
    if (!this.#connected) return;
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
      (cb) => this.#calls.a_get_children2(path, false, cb),
      signal,
    );
  }

  create(path: string, data: string, mode: number): Promise<string> {
    return this.call<[string]>(path, (cb) => this.#calls.a_create(path, data, mode, cb)).then(
      ([created]) => created,
    );
  }

  async stat(path: string, signal?: AbortSignal): Promise<ZkStat> {
    const [stat] = await this.retrying<[ZkStat]>(path, (cb) => this.#calls.a_exists(path, false, cb), signal);
    return stat;
  }

  read(path: string): Promise<[ZkStat, Buffer | string]> {
    return this.retrying<[ZkStat, Buffer | string]>(path, (cb) => this.#calls.a_get(path, false, cb));
  }

  setAcl(path: string, acl: ZkAcl[]): Promise<unknown> {
    return this.call<[]>(path, (cb) => this.client.a_set_acl(path, -1, acl, cb));
  }

  /**
   * Reads a node and sets a one-shot watch on it; resolves to its stat and data, or undefined (and
   * sets no watch) when the node is gone.
   */
  async watchNode(path: string, onChange: () => void): Promise<[ZkStat, Buffer | string] | undefined> {
    try {
      return await this.call<[ZkStat, Buffer | string]>(path, (cb) =>
        this.#calls.aw_get(path, oneShot(onChange), cb),
      );
    } catch (error) {
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
      throw error;
    }
  }

  /**
   * Lists a node's children and sets a one-shot watch on them; resolves to the children, or
   * undefined (and sets no watch) when the node is gone.
   */
  async watchChildren(path: string, onChange: () => void): Promise<string[] | undefined> {
    try {
      const [children] = await this.call<[string[], ZkStat]>(path, (cb) =>
        this.#calls.aw_get_children2(path, oneShot(onChange), cb),
      );
      return children;
    } catch (error) {
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
      throw error;
    }
  }

  /** Sets a one-shot watch on a node's creation or deletion; resolves whether it exists now. */
  async watchExists(path: string, onChange: () => void): Promise<boolean> {
    try {
      await this.call<[ZkStat]>(path, (cb) => this.#calls.aw_exists(path, oneShot(onChange), cb));
      return true;
    } catch (error) {
      // Unlike the other reads, exists() leaves its watch in place for a node that is not there.
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return false;
      throw error;
    }
  }
}

/** A watcher that calls `onChange` once, at the first change of the node itself. */
function oneShot(onChange: () => void): Watcher {
  let fired = false;
  return (type) => {
    // Session events reach node watchers too; only a change of the node itself matters here.
    if (type === SESSION_EVENT || fired) return;
    fired = true;
    onChange();
  };
}
