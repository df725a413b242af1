import { EventEmitter } from "node:events";
import { isLockError, LockError } from "../errors.js";
import { backoffDelay } from "./backoff.js";
import type { ConnectString } from "./connect-string.js";
import type { ZkAuth, ZkDriver } from "./zk-client.js";
import { ZkSession } from "./zk-session.js";

/**
 * Where a manager's connection to ZooKeeper stands:
 * - `connecting`: no session yet — the first one, or (for a manager from `connect()`) a new one
 *   after the last one ended; also before `init()`.
 * - `connected`: the session is connected.
 * - `suspended`: the connection is lost; the session may still live, and holds stand meanwhile.
 * - `expired`: the session is over (expired at the server, its client closed, or no connection for
 *   the session timeout: its holds are lost). A manager from `connect()` moves on to `connecting`
 *   at once; one given its client through `init()` stays here until `init()` gets a new client, or,
 *   on a binding client that gets the session back after all (it keeps trying), `connected` again
 *   with no holds.
 * - `closed`: `close()` was called, or the manager can never connect (`client: "zookeeper"` without
 *   the package installed): the reason says so, and acquisitions reject with `INVALID_ARGUMENT`.
 */
export type ConnectionState = "connecting" | "connected" | "suspended" | "expired" | "closed";

/** What a `connectionState` event says. */
export interface ConnectionStateChange {
  state: ConnectionState;
  previous: ConnectionState;
  /** Why, in words for an operator; undefined when connected. */
  reason: string | undefined;
  /** The ZooKeeper session (hex) the change is about, once there is one. */
  sessionId: string | undefined;
}

export interface ConnectionEvents {
  state: [ConnectionStateChange];
  /** The current session's connection dropped; its holds stand. */
  suspended: [];
  reconnected: [];
  /** The holds of the current session must be taken as lost, for `reason`. */
  lost: [reason: string];
}

/**
 * Opens a session on a new client of the connection's own, started with `auth`. It throws (or
 * rejects) when the client cannot start now, such as when no host of the connect string resolves:
 * the connection tries again later.
 */
export type DriverFactory = (
  connect: ConnectString,
  sessionTimeout: number,
  auth: readonly ZkAuth[],
) => ZkDriver | Promise<ZkDriver>;

/** How a connection that owns its clients makes them. */
export interface OwnedClients {
  connectString: ConnectString;
  sessionTimeout: number;
  openDriver: DriverFactory;
}

const BORROWED_ADVICE =
  "; this ZkLockManager got its client through init(), so it cannot open a new session: create a new client and call init() with it, or create the manager with ZkLockManager.connect(), which does that by itself";
const OWNED_ADVICE = "; the ZkLockManager opens a new session";

/**
 * A manager's connection to ZooKeeper: its current session, the state operators see, and, for a
 * manager that owns its clients, the next session once one ends. Sessions are replaced, never
 * reused: a hold or acquisition keeps the session it started on.
 */
export class ZkConnection extends EventEmitter<ConnectionEvents> {
  #session: ZkSession | undefined;
  #state: ConnectionState = "connecting";
  #reason: string | undefined = "waiting for init(zkClient)";
  #since = performance.now();
  #closed = false;
  /** Why the connection can never open a session (the binding is not installed, say). */
  #failed: LockError | undefined;
  #retry = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #changed = new EventEmitter<{ change: [] }>();

  constructor(
    private readonly auth: readonly ZkAuth[],
    /** Set when the connection makes its own clients (a manager from `connect()`). */
    private readonly owned: OwnedClients | undefined,
  ) {
    super();
    this.#changed.setMaxListeners(0);
    if (owned) this.#openSession();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The current session; undefined before `init()`. */
  get session(): ZkSession | undefined {
    return this.#session;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Why the connection can never open a session, if that is how it ended. */
  get failure(): LockError | undefined {
    return this.#failed;
  }

  /** Whether the connection opens new sessions by itself. */
  get ownsClients(): boolean {
    return this.owned !== undefined;
  }

  /** What the outage is, in words, while not connected: to what, for how long, and why. */
  describeOutage(): string | undefined {
    if (this.#state === "connected") return undefined;
    // Before its first session, a connection of its own still knows the servers it tries.
    const servers = this.#session?.connectString ?? this.owned?.connectString.text;
    const to = servers === undefined ? "ZooKeeper" : `ZooKeeper at ${servers}`;
    const forMs = Math.round(performance.now() - this.#since);
    const failures = this.#session?.connectionFailures;
    return `no connection to ${to} for the last ${forMs} ms (${this.#state}${this.#reason ? `: ${this.#reason}` : ""})${failures ? `; last failures: ${failures}` : ""}`;
  }

  /**
   * Follows a client given by the user, through `driver`, in place of the current session (which
   * must be over, or the caller accepts to end it).
   */
  borrow(driver: ZkDriver, connectString: string): void {
    this.#session?.close(new LockError("CONNECTION", "init() replaced the ZooKeeper client."));
    this.#adopt(new ZkSession(driver, { connectString, overAdvice: BORROWED_ADVICE }));
  }

  /** Resolves once connected; rejects with `CONNECTION` after `timeout` ms, or when it cannot be. */
  waitForConnection({
    timeout,
    signal,
  }: {
    timeout?: number | undefined;
    signal?: AbortSignal | undefined;
  } = {}) {
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        const failure = this.#state === "connected" ? undefined : this.#hopeless();
        if (this.#state !== "connected" && failure === undefined) return;
        settle();
        if (failure) reject(failure);
        else resolve();
      };
      const onAbort = () => {
        settle();
        reject(signal?.reason);
      };
      const timer =
        timeout === undefined
          ? undefined
          : setTimeout(() => {
              settle();
              reject(
                new LockError(
                  "CONNECTION",
                  `No ZooKeeper session within ${timeout} ms: ${this.describeOutage()}.`,
                ),
              );
            }, timeout);
      const settle = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#changed.off("change", check);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#changed.on("change", check);
      check();
    });
  }

  /**
   * A session after `previous` has ended: the next one once it exists, or undefined when none will
   * come by itself (a client given through `init()`). Rejects when `signal` aborts or the
   * connection closes.
   */
  nextSession(previous: ZkSession | undefined, signal: AbortSignal): Promise<ZkSession> | undefined {
    if (!this.owned) return undefined;
    return new Promise((resolve, reject) => {
      const check = () => {
        const failure = this.#closed ? this.#hopeless() : undefined;
        const next = this.#session !== previous && !this.#session?.over ? this.#session : undefined;
        if (!failure && !next) return;
        settle();
        if (next) resolve(next);
        else reject(failure);
      };
      const onAbort = () => {
        settle();
        reject(signal.reason);
      };
      const settle = () => {
        signal.removeEventListener("abort", onAbort);
        this.#changed.off("change", check);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#changed.on("change", check);
      check();
    });
  }

  /**
   * A session that is not over: the current one, or the next one (given to `init()`, or opened by
   * the connection itself). Rejects with `NOT_INITIALIZED` when the connection closes.
   */
  liveSession(signal?: AbortSignal): Promise<ZkSession> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const session = this.#session && !this.#session.over ? this.#session : undefined;
        if (!session && !this.#closed) return;
        settle();
        if (session && !this.#closed) resolve(session);
        else reject(this.#hopeless());
      };
      const onAbort = () => {
        settle();
        reject(signal?.reason);
      };
      const settle = () => {
        signal?.removeEventListener("abort", onAbort);
        this.#changed.off("change", check);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#changed.on("change", check);
      check();
    });
  }

  /** Ends the connection: the current session is closed with `reason` (see `ZkSession.close`). */
  close(reason: LockError): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#session?.close(reason);
    this.#setState("closed", this.#failed?.message);
  }

  // Why waiting for a connection cannot succeed, if it cannot.
  #hopeless(): LockError | undefined {
    if (this.#failed) return this.#failed;
    if (this.#closed)
      return new LockError("NOT_INITIALIZED", "This ZkLockManager was closed; create a new one.");
    if (this.#state === "expired" && !this.owned) return this.#session?.over;
    return undefined;
  }

  #openSession(): void {
    const { connectString, sessionTimeout, openDriver } = this.owned!;
    const retry = (error: unknown) => {
      // A mistake (the binding not installed) stays one: the connection ends with it, and every
      // wait for a session rejects with it, rather than retrying as if ZooKeeper were away.
      if (isLockError(error, "INVALID_ARGUMENT")) {
        this.#failed = error;
        this.close(error);
        return;
      }
      // Hosts that do not resolve now may resolve later (DNS at boot): try again, less often each time.
      this.#setState("connecting", error instanceof Error ? error.message : String(error));
      this.#retryTimer = setTimeout(() => this.#openSession(), backoffDelay(++this.#retry, 5000));
    };
    const adopt = (driver: ZkDriver) => {
      if (this.#closed) {
        driver.closeOwned();
        return;
      }
      this.#retry = 0;
      this.#adopt(new ZkSession(driver, { connectString: connectString.text, overAdvice: OWNED_ADVICE }));
    };
    let opened: ZkDriver | Promise<ZkDriver>;
    try {
      opened = openDriver(connectString, sessionTimeout, this.auth);
    } catch (error) {
      retry(error);
      return;
    }
    if (opened instanceof Promise) opened.then(adopt, (error) => this.#closed || retry(error));
    else adopt(opened);
  }

  #adopt(session: ZkSession): void {
    this.#session = session;
    const current = () => this.#session === session && !this.#closed;
    session.on("connected", () => current() && this.#setState("connected", undefined));
    session.on("suspended", () => {
      if (!current()) return;
      this.#setState("suspended", "the connection was lost; the session may still live");
      this.emit("suspended");
    });
    session.on("reconnected", () => {
      if (!current()) return;
      this.#setState("connected", undefined);
      this.emit("reconnected");
    });
    session.on("lost", (reason) => {
      if (!current()) return;
      this.emit("lost", reason);
      // Like Curator: a session unheard of for its timeout is given up for a new one. A client of
      // the user's may yet get it back (the binding's keeps trying), but its holds are lost all the
      // same: the state says so now, on both clients, and goes back to connected if it does.
      if (this.owned) session.giveUp(reason);
      else this.#setState("expired", reason);
    });
    session.on("over", (_error, reason) => {
      if (!current()) return;
      this.emit("lost", reason);
      this.#setState("expired", reason);
      if (!this.owned) return;
      // Refused credentials are a mistake, not an outage: every new session would be refused the
      // same, at once, each one a write to the ensemble. The connection ends with the reason.
      if (session.endedBy === "authFailed") {
        const schemes = this.auth.map(({ scheme }) => JSON.stringify(scheme)).join(", ");
        const error = new LockError(
          "ZOOKEEPER",
          `ZooKeeper refused this manager's authentication (auth scheme ${schemes || "none"}): check the auth option. The manager stopped and opens no new session.`,
        );
        this.#failed = error;
        this.close(error);
        return;
      }
      this.#openSession();
    });
    if (session.connected) this.#setState("connected", undefined);
    else this.#setState("connecting", session.established ? undefined : "opening a session");
    this.#changed.emit("change");
  }

  #setState(state: ConnectionState, reason: string | undefined): void {
    const previous = this.#state;
    if (previous === state && this.#reason === reason) return;
    if (previous !== state) this.#since = performance.now();
    this.#state = state;
    this.#reason = reason;
    this.#changed.emit("change");
    if (previous === state) return;
    this.emit("state", { state, previous, reason, sessionId: this.#session?.sessionId });
  }
}
