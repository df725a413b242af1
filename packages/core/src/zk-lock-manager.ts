import { AsyncLocalStorage } from "node:async_hooks";
import { EventEmitter } from "node:events";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import type { ZooKeeperClient as TypeScriptClient } from "@zk-dist-lock/client";
import {
  cleanupFailedChannel,
  type HoldMessage,
  lostChannel,
  reconnectChannel,
  releaseChannel,
  suspendChannel,
} from "./channels.js";
import { LockError, LockInvalidArgumentError, type LockLostError, withResource } from "./errors.js";
import {
  type AcquireOptions,
  type CreateLockOptions,
  type LockOptions,
  optionNames,
  optionsObject,
  type ResolvedConnectOptions,
  type ResolvedLockOptions,
  resolveConnectOptions,
  resolveCreateLockOptions,
  resolveLockOptions,
  resolveSemaphoreOptions,
  type SemaphoreOptions,
  validateAcquireOptions,
  validateAuth,
  type ZkClientKind,
} from "./options.js";
import type { Holder } from "./queue/hold.js";
import { contendersOf, holdingCount, type Participant, readParticipant } from "./queue/participants.js";
import {
  type ElectionHost,
  type ElectionOptions,
  resolveElectionOptions,
  ZkElection,
} from "./recipes/election.js";
import {
  type FiringClaimOptions,
  resolveFiringClaimOptions,
  ZkFiringClaims,
} from "./recipes/firing-claims.js";
import { ZkLock } from "./recipes/lock.js";
import type { QueueHandle } from "./recipes/queue-handle.js";
import { ZkSemaphore } from "./recipes/semaphore.js";
import { describe, encodeResource, resourceOf } from "./resource-name.js";
import {
  BindingDriver,
  missingBindingCalls,
  startClient,
  type ZooKeeperBindingClient,
  type ZooKeeperClient,
} from "./session/binding-driver.js";
import {
  ClientDriver,
  clientDrivers,
  hasEnded,
  isTypeScriptClient,
  startQuietly,
} from "./session/client-driver.js";
import { type ConnectString, parseConnectString } from "./session/connect-string.js";
import { type ConnectionState, type ConnectionStateChange, ZkConnection } from "./session/connection.js";
import { clientsLike, loadBinding, openBindingDriver } from "./session/native-client.js";
import {
  type CreateModeNumber,
  createMode,
  rc,
  type ZkAcl,
  type ZkAuth,
  ZkCallError,
  type ZkDriver,
} from "./session/zk-client.js";
import type { ZkSession } from "./session/zk-session.js";

/** Options of a manager: defaults for every lock it creates, and the ACL of the nodes it creates. */
export interface ZkLockManagerOptions extends LockOptions {
  /**
   * ACL set on the directories the manager creates (`rootDir` and the per-resource directories).
   * ZooKeeper checks the parent's ACL when a node is deleted, so with digest authentication this
   * keeps other clients from deleting a holder's node. Default: open (`world:anyone`).
   */
  acl?: ZkAcl[];
  /**
   * Authentication the manager adds to every client it starts: a client of `connect()`, one given
   * to `init()` unstarted, and one that rejoins a session (see `digestAuth()`). A client you start
   * yourself keeps the authentication you added to it.
   */
  auth?: ZkAuth[];
}

/** Options of {@link ZkLockManager.connect}: how to connect, and the manager's options. */
export interface ZkConnectOptions extends ZkLockManagerOptions {
  /**
   * Session timeout in ms asked of the server (which may grant another within its bounds). Holds
   * survive a disconnection shorter than this. Default 10000.
   */
  sessionTimeout?: number;
  /** How long `connect()` waits for the first session, in ms, before failing with `CONNECTION`. Default 15000. */
  connectTimeout?: number;
  /**
   * The ZooKeeper client the manager runs on: `"@zk-dist-lock/client"` (the default: TypeScript,
   * no native code, sessions that survive repeated server loss) or `"zookeeper"`, the npm binding,
   * which must then be installed. Both behave the same to the manager's users (see the README).
   */
  client?: ZkClientKind;
  /**
   * Connect over TLS with these `tls.connect()` options: `ca` for a server certificate of your own
   * CA, `cert` and `key` for a client certificate (ZooKeeper's `secureClientPort` asks for one by
   * default). Only with the default client: `client: "zookeeper"` with `tls` is `INVALID_ARGUMENT`.
   */
  tls?: TlsOptions;
}

/**
 * A client `init()` takes: of the npm `zookeeper` package (see {@link ZooKeeperBindingClient}), or
 * of `@zk-dist-lock/client`.
 *
 * @example
 * ```ts
 * const zk: ZkClient = new ZooKeeperClient("zk1:2181,zk2:2181", { sessionTimeout: 10_000 });
 * const manager = new ZkLockManager().init(zk);
 * ```
 */
export type ZkClient = ZooKeeperBindingClient | TypeScriptClient;

/** Options of `inspect()`, `resources()` and `waitForConnection()`: how long to wait for ZooKeeper. */
export interface CallOptions {
  /** Gives up, with `ABORTED`, when aborted. */
  signal?: AbortSignal;
  /**
   * Milliseconds to wait before failing with `CONNECTION`. Default: no deadline of its own; it
   * waits while the session may live, and fails with `CONNECTION` if the session ends first.
   */
  timeout?: number;
}

/** What every lock event says. Leaders' terms are holds too: their events name the election. */
export interface LockEvent {
  resource: string;
  /** The lock node of the hold. */
  path: string;
  token: bigint;
}

/**
 * The events of a {@link ZkLockManager}, with wait and hold durations in milliseconds. A hold ends
 * with exactly one of `released` (by `release()`) and `lost`: releasing a lost hold afterwards
 * emits nothing more.
 */
export interface LockEvents {
  acquired: [LockEvent & { waitMs: number }];
  /** `release()` ended a hold that was not lost. */
  released: [LockEvent & { holdMs: number }];
  /** The connection dropped; the hold stands while the session lives. */
  suspended: [LockEvent];
  reconnected: [LockEvent];
  lost: [LockEvent & { holdMs: number; error: LockLostError }];
  /** A node this process abandoned could not be deleted (for example for lack of ACL rights). */
  cleanupFailed: [{ resource: string; path: string; error: unknown }];
  /** The connection to ZooKeeper changed state (see {@link ConnectionState}). */
  connectionState: [ConnectionStateChange];
}

/** What `withLock()` hands its function. */
export interface LockContext {
  /** The hold's fencing token (see `ZkLock` for what it guarantees in each mode). */
  token: bigint;
  /** Aborts when the hold is lost, and when it is released (see `ZkLock.signal`). */
  signal: AbortSignal;
  lock: ZkLock;
}

/**
 * What `withSemaphore()` hands its function.
 *
 * @example
 * ```ts
 * await manager.withSemaphore("geocoder-api", ({ signal }) => geocoder.lookup(address, { signal }), {
 *   permits: 5,
 * });
 * ```
 */
export interface SemaphoreContext {
  /** The permit's token (see `ZkSemaphore` for what it guarantees). */
  token: bigint;
  /** Aborts when the permit is lost, and when it is released (see `ZkSemaphore.signal`). */
  signal: AbortSignal;
  semaphore: ZkSemaphore;
}

/**
 * Who holds a resource and who waits, as `inspect()` read them.
 *
 * @example
 * ```ts
 * const { holders, waiters } = await manager.inspect("invoice:42");
 * if (holders[0]) log.info({ owner: holders[0].owner, queued: waiters.length }, "invoice:42 is held");
 * ```
 */
export interface LockInspection {
  resource: string;
  path: string;
  /** The first of `holders`: the exclusive holder, or the oldest shared holder or permit. */
  holder: Participant | undefined;
  /**
   * Every participant whose turn has come, in queue order: one exclusive holder, the shared
   * holders of a lock, or a semaphore's first `permits` participants.
   */
  holders: Participant[];
  /** In the order they will get their turn. */
  waiters: Participant[];
}

// Directories known to exist are remembered so that known resources cost no creates; the bound
// keeps a process with countless keys from growing without end (a forgotten one costs one create).
const MAX_KNOWN_DIRECTORIES = 10_000;

/**
 * Creates and tracks distributed locks on a ZooKeeper session. Make one per process and share
 * it: the Nest module and the Express middleware take it too.
 *
 * `ZkLockManager.connect()` makes a manager that owns its client: it opens a new session by itself
 * when one ends, and closes the client in `close()`. `new ZkLockManager()` with `init(zkClient)`
 * uses a client of yours; when its session ends, give it a new one with `init()`.
 *
 * @example
 * ```ts
 * import { ZkLockManager } from "@zk-dist-lock/core";
 *
 * const manager = await ZkLockManager.connect("127.0.0.1:2181", { sessionTimeout: 10_000 });
 * await manager.withLock("report:daily", async ({ token, signal }) => {
 *   await buildReport({ fence: token, signal });
 * });
 * await manager.close();
 * ```
 */
export class ZkLockManager extends EventEmitter<LockEvents> {
  #connection: ZkConnection;
  /** The client given to `init()`, which may have closed while the manager rejoined its session. */
  #given: ZooKeeperClient | TypeScriptClient | undefined;
  #closed = false;
  readonly #defaults: LockOptions;
  readonly #acl: ZkAcl[] | undefined;
  readonly #auth: ZkAuth[];
  readonly #holds = new Set<Holder>();
  /** The holds of `withLock()` and `withSemaphore()` in the current async call chain, by directory. */
  readonly #chain = new AsyncLocalStorage<ReadonlyMap<string, QueueHandle>>();
  readonly #knownDirectories = new Set<string>();
  readonly #pendingDirectories = new Map<string, Promise<void>>();
  readonly #host: ElectionHost;

  constructor(options?: ZkLockManagerOptions) {
    super();
    const { acl, auth, ...defaults } = optionsObject(
      options,
      "ZkLockManager options",
      optionNames.manager,
    ) as ZkLockManagerOptions;
    resolveLockOptions(defaults);
    if (acl !== undefined && (!Array.isArray(acl) || acl.length === 0 || !acl.every(isAcl))) {
      throw new LockInvalidArgumentError("acl must be a non-empty array of { perms, scheme, auth } entries.");
    }
    this.#defaults = defaults;
    this.#acl = acl;
    this.#auth = validateAuth(auth);
    this.#connection = this.#follow(new ZkConnection(this.#auth, undefined));
    const connection = () => this.#connection;
    const requireSession = () => this.#requireSession();
    this.#host = {
      get session() {
        const current = connection();
        return current.ownsClients && !current.closed ? current.session : requireSession();
      },
      describeOutage: () => this.#connection.describeOutage(),
      nextSession: (previous, signal) => this.#connection.nextSession(previous, signal),
      ensureDirectory: (session, dir, rootDir) => this.#ensureDirectory(session, dir, rootDir),
      forgetDirectory: (dir, rootDir) => {
        for (const level of levelsBelow(rootDir, dir)) this.#knownDirectories.delete(level);
        this.#knownDirectories.delete(rootDir);
      },
      // Events are built only when someone listens: these two fire on every cycle.
      holdStarted: (holder, waitMs) => {
        this.#holds.add(holder);
        if (this.listenerCount("acquired") > 0) this.emit("acquired", { ...eventOf(holder), waitMs });
      },
      holdEnded: (holder, { path, token, lost }, holdMs) => {
        this.#holds.delete(holder);
        // A lost hold ended with its loss (the `lost` event and channel); its release ends nothing more.
        if (lost) return;
        const { resource } = holder;
        if (this.listenerCount("released") > 0) this.emit("released", { resource, path, token, holdMs });
        if (releaseChannel.hasSubscribers)
          releaseChannel.publish(holdMessage(holder, { resource, path, token }, holdMs));
      },
      holdLost: (holder, error) => this.#lose(holder, error),
      abandon: (resource, dir, session, path) => this.#abandon(resource, dir, session, path),
      liveSession: async (signal) => {
        if (!connection().ownsClients) requireSession();
        return connection().liveSession(signal);
      },
    };
  }

  /**
   * A manager that owns its ZooKeeper client: it validates `connectString`, creates the client,
   * and resolves once the first session is established; after `connectTimeout` it rejects with
   * `CONNECTION`, naming the servers. When a session ends (expired at the server, or no connection
   * for the session timeout), its holds are lost and the manager opens a new session at once;
   * waiting acquisitions go on there. `close()` releases the holds and closes the client.
   *
   * @example
   * ```ts
   * const manager = await ZkLockManager.connect("zk1:2181,zk2:2181,zk3:2181/app", {
   *   sessionTimeout: 10_000,
   *   connectTimeout: 5000,
   *   rootDir: "/locks",
   *   acquireTimeout: 2000,
   * });
   * manager.on("connectionState", ({ state, reason }) => log.info({ state, reason }, "ZooKeeper"));
   * ```
   */
  static async connect(connectString: string, options?: ZkConnectOptions): Promise<ZkLockManager> {
    const [connect, resolved, managerOptions] = connectOptions(
      connectString,
      options,
      "ZkLockManager.connect() options",
    );
    // A binding that is not installed is a mistake to name now, not an outage to wait out.
    if (resolved.client === "zookeeper") await loadBinding();
    const manager = ZkLockManager.#open(connect, resolved, managerOptions);
    try {
      await manager.waitForConnection({ timeout: resolved.connectTimeout });
      await manager.#checkChroot();
    } catch (error) {
      await manager.close();
      throw error;
    }
    return manager;
  }

  /**
   * Like {@link ZkLockManager.connect}, but returns the manager at once while it connects in the
   * background (`connectionState` is `connecting`): for an application that must start without
   * ZooKeeper. Acquisitions meanwhile wait within their timeout; `waitForConnection()` waits too.
   *
   * @example
   * ```ts
   * const manager = ZkLockManager.open("zk1:2181,zk2:2181,zk3:2181");
   * readiness.add(() => manager.connectionState === "connected");
   * ```
   */
  static open(connectString: string, options?: ZkConnectOptions): ZkLockManager {
    return ZkLockManager.#open(...connectOptions(connectString, options, "ZkLockManager.open() options"));
  }

  static #open(
    connect: ConnectString,
    resolved: ResolvedConnectOptions,
    managerOptions: ZkLockManagerOptions,
  ): ZkLockManager {
    const manager = new ZkLockManager(managerOptions);
    manager.#connection = manager.#follow(
      new ZkConnection(manager.#auth, {
        connectString: connect,
        sessionTimeout: resolved.sessionTimeout,
        openDriver: resolved.client === "zookeeper" ? openBindingDriver : clientDrivers(resolved.tls),
      }),
    );
    return manager;
  }

  /**
   * Binds the manager to a client of yours: of the npm `zookeeper` package or of
   * `@zk-dist-lock/client`, connected, connecting, or configured but not started (then the manager
   * starts it, with the manager's `auth`, and it keeps trying for its first session as long as
   * ZooKeeper is away, unless you gave the client a `connectTimeout`: then it closes after that
   * long without a session, and the manager's state is `expired`). Call it again with a new
   * client after the session expired: the manager cannot open a session on a client of yours
   * (`connect()` makes a manager that can).
   *
   * Throws `INVALID_ARGUMENT`, before anything is sent, for a client without a valid connect
   * string and one that was closed; `CONNECTION` for an unstarted binding client none of whose
   * hosts resolves now (the C client starts none without an address): an outage, so call `init()`
   * again later, or use `connect()`, whose manager keeps trying.
   *
   * @example
   * ```ts
   * const zk = new ZooKeeperClient("zk1:2181,zk2:2181,zk3:2181", { sessionTimeout: 10_000 });
   * const manager = new ZkLockManager({ rootDir: "/locks" }).init(zk);
   * ```
   */
  init(zkClient: ZkClient): this {
    const client: unknown = zkClient;
    const typescript = isTypeScriptClient(client);
    const missing = typescript ? [] : missingBindingCalls(client);
    if (missing.length > 0) {
      throw new LockInvalidArgumentError(
        `init() needs a client of @zk-dist-lock/client (new ZooKeeperClient(connect)) or of the npm "zookeeper" package (new ZooKeeper({ connect, timeout })); got ${describe(client)} without ${missing.join(", ")}.`,
      );
    }
    if (this.#closed)
      throw new LockError("NOT_INITIALIZED", "This ZkLockManager was closed; create a new one.");
    if (this.#connection.ownsClients) {
      throw new LockInvalidArgumentError(
        "This ZkLockManager was made by ZkLockManager.connect() and owns its client; init() is for managers made with new ZkLockManager().",
      );
    }
    if (client === this.#given) return this;
    const current = this.#connection.session;
    if (current && !current.over && !isClosed(this.#given)) {
      throw new LockInvalidArgumentError(
        "init() was already called with another client whose session is still alive.",
      );
    }
    const [driver, connectString] = typescript
      ? this.#typeScriptDriver(client)
      : this.#bindingDriver(client as ZooKeeperClient);
    this.#connection.borrow(driver, connectString);
    this.#given = client as ZooKeeperClient | TypeScriptClient;
    this.#knownDirectories.clear();
    return this;
  }

  #typeScriptDriver(client: TypeScriptClient): [ZkDriver, string] {
    if (isClosed(client)) {
      throw new LockInvalidArgumentError(
        `init() got a @zk-dist-lock/client client that is ${client.state}; a closed client never connects again: create a new one.`,
      );
    }
    if (!client.started) {
      for (const { scheme, credentials } of this.#auth) client.addAuth(scheme, credentials).catch(() => {});
      startQuietly(client);
    }
    return [new ClientDriver(client, { ownsClient: false }), client.connectString];
  }

  #bindingDriver(client: ZooKeeperClient): [ZkDriver, string] {
    let connect: ConnectString | undefined;
    if (client.timeout === -1) {
      if (String(client.client_id) !== "0") {
        throw new LockInvalidArgumentError(
          `init() got a zookeeper client that was closed (session 0x${client.client_id}); a closed client never connects again: create a new one.`,
        );
      }
      connect = parseConnectString(
        client.config?.connect,
        "init() got a zookeeper client whose connect setting",
      );
      // The client's own setting wins over the manager's, and its C client would look the
      // bracketed address up as a host name, which never resolves.
      if (connect.text.includes("[")) {
        throw new LockInvalidArgumentError(
          `init() got a zookeeper client whose connect setting ${describe(connect.text)} puts an IPv6 address in brackets, which its C client does not read: write it bare, ${describe(connect.bare)} (ZkLockManager.connect() takes either form).`,
        );
      }
      startClient(client, this.#auth, connect.text);
    } else {
      // A client started elsewhere can be rejoined only with a connect string the manager can read.
      try {
        connect = parseConnectString(client.config?.connect, "connect");
      } catch {
        connect = undefined;
      }
    }
    const connectString = connect?.text ?? String(client.config?.connect ?? "(unknown)");
    const driver = new BindingDriver(client, {
      // What a client that rejoins the session connects to, as the C client reads it.
      connectString: connect?.bare ?? connectString,
      createClient: connect ? clientsLike(client) : undefined,
      auth: this.#auth,
      ownsClient: false,
    });
    return [driver, connectString];
  }

  /**
   * The client the manager's session runs on: the one given to `init()`, or one the manager made
   * (with `connect()`, or to rejoin the session after a given binding client closed by itself).
   */
  get client(): ZkClient {
    return this.#requireSession().client as ZkClient;
  }

  /**
   * The current session's id, in hex as `inspect()` and `connectionState` events name it; undefined
   * before the first session.
   *
   * @example
   * ```ts
   * const mine = (await manager.inspect("job")).holder?.sessionId === manager.sessionId;
   * ```
   */
  get sessionId(): string | undefined {
    const session = this.#closed ? undefined : this.#connection.session;
    return session?.established ? session.sessionId : undefined;
  }

  /** Where the connection to ZooKeeper stands now; `connectionState` events report each change. */
  get connectionState(): ConnectionState {
    return this.#connection.state;
  }

  /**
   * Resolves once the manager is connected to ZooKeeper. Rejects with `CONNECTION` when `timeout`
   * runs out (saying to what and why), at once when the session of a client given to `init()` is
   * over, and with `NOT_INITIALIZED` once the manager is closed.
   *
   * @example
   * ```ts
   * await manager.waitForConnection({ timeout: 5000 });
   * ```
   */
  async waitForConnection(options?: CallOptions): Promise<void> {
    const { signal, timeout } = validateAcquireOptions(options, "waitForConnection() options");
    try {
      await this.#connection.waitForConnection({ signal, timeout });
    } catch (error) {
      if (signal?.aborted && error === signal.reason) throw abortReason(signal, "waiting for ZooKeeper");
      throw error;
    }
  }

  /**
   * A lock on `resource`, which may be any string up to 512 UTF-8 bytes: it is encoded into one
   * znode name under `rootDir`. `mode: "shared"` makes a shared (read) lock; exclusive is the
   * default. Throws `LockInvalidArgumentError` for bad input, before any request.
   *
   * @example
   * ```ts
   * const read = manager.createLock("catalog", { mode: "shared" });
   * const token = await read.acquire({ timeout: 2000 }); // with other readers, never with a writer
   * try {
   *   await catalog.export({ fence: token });
   * } finally {
   *   await read.release();
   * }
   * ```
   */
  createLock(resource: string, options?: CreateLockOptions): ZkLock {
    const given = optionsObject(options, "createLock() options", optionNames.createLock);
    const [path, lockMode, resolved] = this.#place(resource, given, resolveCreateLockOptions);
    if (!this.#connection.ownsClients) this.#requireSession(resource);
    return new ZkLock(this.#host, resource, path, resolved, lockMode);
  }

  /**
   * A semaphore on `resource` (named as for `createLock()`, in the same `rootDir`): at most
   * `permits` holders at once across every process. Throws `LockInvalidArgumentError` for bad
   * input (`permits` must be a positive integer), before any request.
   *
   * @example
   * ```ts
   * const quota = manager.createSemaphore("geocoder-api", { permits: 5 });
   * const token = await quota.acquire({ timeout: 10_000 });
   * try {
   *   await geocoder.lookup(address);
   * } finally {
   *   await quota.release();
   * }
   * ```
   */
  createSemaphore(resource: string, options: SemaphoreOptions): ZkSemaphore {
    const given = optionsObject(options, "createSemaphore() options", optionNames.createSemaphore);
    const [path, checked, resolved] = this.#place(resource, given, resolveSemaphoreOptions);
    if (!this.#connection.ownsClients) this.#requireSession(resource);
    return new ZkSemaphore(this.#host, resource, path, resolved, checked);
  }

  /**
   * A candidate in the leader election `name` (any string up to 512 UTF-8 bytes), in its own
   * directory under `rootDir` (default `"/elections"`). Throws `LockInvalidArgumentError` for bad
   * input, before any request.
   *
   * @example
   * ```ts
   * const election = manager.createElection("report-scheduler", { label: "pod-7" });
   * await election.lead(async ({ token, signal }) => runScheduler({ fence: token, signal }), { signal });
   * ```
   */
  createElection(name: string, options?: ElectionOptions): ZkElection {
    const resolved = resolveElectionOptions(options, this.#defaults);
    const path = `${resolved.rootDir}/${encodeResource(name)}`;
    this.#requireSession();
    return new ZkElection(this.#host, name, path, resolved);
  }

  /**
   * Once-per-firing claims of the scheduled job `job` (any string up to 512 UTF-8 bytes), under
   * `rootDir` (default `"/firings"`). Throws `LockInvalidArgumentError` for bad input, before any
   * request.
   *
   * @example
   * ```ts
   * const claims = manager.createFiringClaims("nightly-report", { retention: 24 * 3600_000 });
   * if (await claims.claim(scheduledAt)) await buildReport();
   * ```
   */
  createFiringClaims(job: string, options?: FiringClaimOptions): ZkFiringClaims {
    const resolved = resolveFiringClaimOptions(options, this.#defaults);
    const path = `${resolved.rootDir}/${encodeResource(job)}`;
    this.#requireSession();
    return new ZkFiringClaims(this.#host, job, path, resolved);
  }

  /**
   * Runs `fn` holding the lock and releases it however `fn` ends; `mode: "shared"` holds it
   * shared. Inside `fn` (and everything it calls, also concurrently), `withLock` on the same
   * resource joins the hold instead of waiting for itself, as long as the hold lasts: it counts up
   * at once (or fails with the `LOST` error of a lost hold, or `ABORTED` for a signal that already
   * aborted). A shared call joins an exclusive hold too (the node stays exclusive until the last
   * call ends, so no writer gets in while the "downgraded" shared call runs); an exclusive call
   * inside a shared hold is refused at once with `CONFLICT`, as it would wait for its own chain's
   * hold forever. A call that runs after the hold was released, from a timer `fn` left behind, is a
   * call of its own. Concurrent, unrelated calls queue in arrival order, each on its own terms.
   *
   * @example
   * ```ts
   * const total = await manager.withLock(`account:${id}`, async ({ token, signal }) => {
   *   return ledger.post(entry, { fence: token, signal });
   * }, { acquireTimeout: 2000 });
   * const balance = await manager.withLock(`account:${id}`, () => ledger.balance(id), { mode: "shared" });
   * ```
   */
  async withLock<T>(
    resource: string,
    fn: (context: LockContext) => T | Promise<T>,
    options?: CreateLockOptions & AcquireOptions,
  ): Promise<T> {
    requireFunction(fn, "withLock", resource);
    const given = optionsObject(options, "withLock() options", optionNames.withLock) as CreateLockOptions &
      AcquireOptions;
    const [path, lockMode, resolved] = this.#place(resource, given, resolveCreateLockOptions);
    const take = (joined: QueueHandle | undefined) => {
      if (joined === undefined) return new ZkLock(this.#host, resource, path, resolved, lockMode);
      if (!(joined instanceof ZkLock))
        throw chainConflict(resource, "holds a permit of it through withSemaphore()");
      if (joined.mode === "shared" && lockMode === "exclusive") {
        throw chainConflict(
          resource,
          "holds it shared, and an exclusive turn would wait for that shared hold forever; take it exclusively from the start",
        );
      }
      return joined;
    };
    return this.#withHold(path, take, { signal: given.signal, timeout: given.timeout }, (lock, token) =>
      fn(contextOf(token, "lock", lock)),
    );
  }

  /**
   * Runs `fn` holding a permit of the semaphore `resource` and releases it however `fn` ends:
   * `withLock()` for a semaphore. Inside `fn`, `withSemaphore` on the same resource joins the
   * permit (re-entrant, as `withLock` is); `withLock` on it there fails with `CONFLICT`, as do
   * other `permits`.
   *
   * A method of its own, not a `permits` option of `withLock()`: a permit is not a lock (its holders
   * overlap, and its token fences nothing), `permits` is required here and typed so, and a call
   * site says which of the two a resource is, since one resource cannot be both.
   *
   * @example
   * ```ts
   * const address = await manager.withSemaphore(
   *   "geocoder-api",
   *   ({ signal }) => geocoder.lookup("1 Main St", { signal }),
   *   { permits: 5, acquireTimeout: 10_000 },
   * );
   * ```
   */
  async withSemaphore<T>(
    resource: string,
    fn: (context: SemaphoreContext) => T | Promise<T>,
    options: SemaphoreOptions & AcquireOptions,
  ): Promise<T> {
    requireFunction(fn, "withSemaphore", resource);
    const given = optionsObject(
      options,
      "withSemaphore() options",
      optionNames.withSemaphore,
    ) as SemaphoreOptions & AcquireOptions;
    const [path, checked, resolved] = this.#place(resource, given, resolveSemaphoreOptions);
    const take = (joined: QueueHandle | undefined) => {
      if (joined === undefined) return new ZkSemaphore(this.#host, resource, path, resolved, checked);
      if (!(joined instanceof ZkSemaphore))
        throw chainConflict(resource, "holds it as a lock through withLock()");
      if (joined.permits !== checked) {
        throw chainConflict(
          resource,
          `holds a permit of it as a semaphore of ${joined.permits} permits, not ${checked}`,
        );
      }
      return joined;
    };
    return this.#withHold(path, take, { signal: given.signal, timeout: given.timeout }, (semaphore, token) =>
      fn(contextOf(token, "semaphore", semaphore)),
    );
  }

  /**
   * Holds the handle `take` gives (the chain's own hold of `path`, or a new handle) while `run`
   * runs, in a chain that knows the hold, and releases it however `run` ends.
   */
  async #withHold<H extends QueueHandle, T>(
    path: string,
    take: (joined: QueueHandle | undefined) => H,
    terms: AcquireOptions,
    run: (handle: H, token: bigint) => T | Promise<T>,
  ): Promise<T> {
    const held = this.#chain.getStore();
    const joined = heldIn(held, path);
    const handle = take(joined);
    const token = await handle.acquire(terms);
    try {
      if (handle === joined) return await run(handle, token);
      return await this.#chain.run(new Map(held).set(path, handle), () => run(handle, token));
    } finally {
      await handle.release();
    }
  }

  /**
   * The lock on `resource` that the current async call chain holds through `withLock()`, if any:
   * undefined once that hold was released, also in a callback `fn` left behind. A hold that was
   * lost is still returned until its `withLock()` ends (its `state` is `"lost"`).
   */
  current(resource: string, options?: LockOptions): ZkLock | undefined {
    const given = optionsObject(options, "current() options", optionNames.lock);
    const held = heldIn(this.#chain.getStore(), this.#locate(resource, given)[0]);
    return held instanceof ZkLock ? held : undefined;
  }

  /**
   * Who holds `resource` (a lock or a semaphore) and who waits, in order, with each one's mode and
   * what their nodes say about them. Without a connection it waits for one, up to `timeout`, then
   * fails with `CONNECTION`.
   *
   * @example
   * ```ts
   * const { holders, waiters } = await manager.inspect("geocoder-api");
   * console.log(holders.map((p) => `${p.mode} ${p.owner?.host}`), `${waiters.length} waiting`);
   * ```
   */
  async inspect(resource: string, options?: LockOptions & CallOptions): Promise<LockInspection> {
    const { signal, timeout, ...lockOptions } = optionsObject(
      options,
      "inspect() options",
      optionNames.inspect,
    ) as LockOptions & CallOptions;
    const [path] = this.#locate(resource, lockOptions);
    try {
      return await this.#withDeadline(`inspect("${resource}")`, { signal, timeout }, (session, deadline) =>
        this.#inspect(session, deadline, resource, path),
      );
    } catch (error) {
      throw withResource(error, resource);
    }
  }

  async #inspect(
    session: ZkSession,
    deadline: AbortSignal,
    resource: string,
    path: string,
  ): Promise<LockInspection> {
    const contenders = await contendersOf(session, path, deadline);
    const holding = holdingCount(contenders);
    const read = await Promise.all(contenders.map((node) => readParticipant(session, path, node, deadline)));
    // A participant that left between the listing and its read is neither.
    const holders = read.slice(0, holding).filter((p) => p !== undefined);
    const waiters = read.slice(holding).filter((p) => p !== undefined);
    return { resource, path, holder: holders[0], holders, waiters };
  }

  /**
   * The resources that have a directory under `rootDir` now, decoded; waits for a connection as
   * `inspect()` does. Children that no resource encodes to (another tool's nodes) are left out.
   */
  async resources(options?: Pick<LockOptions, "rootDir"> & CallOptions): Promise<string[]> {
    const { signal, timeout, ...lockOptions } = optionsObject(
      options,
      "resources() options",
      optionNames.resources,
    ) as Pick<LockOptions, "rootDir"> & CallOptions;
    const { rootDir } = resolveLockOptions(lockOptions, this.#defaults);
    return this.#withDeadline("resources()", { signal, timeout }, async (session, deadline) => {
      try {
        const [children] = await session.listRetrying(rootDir, deadline);
        // Other tools' nodes under the root (names no resource encodes to) are not resources.
        return children.map(resourceOf).filter((resource) => resource !== undefined);
      } catch (error) {
        if (error instanceof ZkCallError && error.rc === rc.NONODE) return [];
        throw error;
      }
    });
  }

  /**
   * Releases every hold of this manager, then closes the clients the manager made (which ends their
   * session at the server) and stops following the one given to `init()`, which stays open: the
   * caller created it and closes it. Later calls fail with `NOT_INITIALIZED`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#holds].map((lock) => lock[Symbol.asyncDispose]()));
    this.#connection.close(
      new LockError("NOT_INITIALIZED", "The ZkLockManager was closed while this waited for a lock."),
    );
  }

  #requireSession(resource?: string): ZkSession {
    const session = this.#closed ? undefined : this.#connection.session;
    if (session) return session;
    const failure = this.#closed ? undefined : this.#connection.failure;
    if (failure) throw resource === undefined ? failure : withResource(failure, resource);
    throw new LockError(
      "NOT_INITIALIZED",
      this.#closed
        ? "This ZkLockManager was closed; create a new one."
        : this.#connection.ownsClients
          ? `No ZooKeeper session yet: ${this.#connection.describeOutage()}.`
          : "Call init(zkClient) on the ZkLockManager before using it.",
      { resource },
    );
  }

  #follow(connection: ZkConnection): ZkConnection {
    connection.on("state", (change) => this.emit("connectionState", change));
    connection.on("suspended", () => this.#connectionChanged("suspended"));
    connection.on("reconnected", () => this.#connectionChanged("reconnected"));
    connection.on("lost", (reason) => this.#connectionChanged({ lost: reason }));
    return connection;
  }

  /**
   * Runs `work` on the session once there is one, with a signal that aborts with `CONNECTION` when
   * `timeout` runs out and with `ABORTED` when `signal` does.
   */
  async #withDeadline<T>(
    what: string,
    options: CallOptions,
    work: (session: ZkSession, deadline: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { signal, timeout } = validateAcquireOptions(options, `${what} options`);
    const controller = new AbortController();
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(() => {
            const outage = this.#connection.describeOutage();
            controller.abort(
              new LockError(
                "CONNECTION",
                `${what} got no answer within ${timeout} ms: ${outage ?? `ZooKeeper at ${this.#connection.session?.connectString} did not answer`}.`,
              ),
            );
          }, timeout);
    const stop = () => controller.abort(abortReason(signal, what));
    if (signal?.aborted) stop();
    else signal?.addEventListener("abort", stop, { once: true });
    try {
      const session =
        this.#connection.session ??
        (await (this.#connection.nextSession(undefined, controller.signal) ?? this.#requireSession()));
      return await Promise.race([
        work(session, controller.signal),
        new Promise<never>((_, reject) => {
          if (controller.signal.aborted) reject(controller.signal.reason);
          controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", stop);
    }
  }

  // connect() fails on a chroot that does not exist, which no lock could be created under: within
  // a chroot, "/" is the chroot's own node.
  async #checkChroot(): Promise<void> {
    const session = this.#requireSession();
    const chroot = parseConnectString(session.connectString, "connect").chroot;
    if (chroot === undefined) return;
    try {
      await session.stat("/");
    } catch (error) {
      if (error instanceof ZkCallError && error.rc === rc.NONODE)
        throw missingChroot(session.connectString, chroot, error);
      throw error;
    }
  }

  /** Runs a check of `resource`'s options, its error naming the resource. */
  #check<T>(resource: string, check: () => T): T {
    try {
      return check();
    } catch (error) {
      throw withResource(error, resource);
    }
  }

  /**
   * The directory of `resource` and its options as a recipe's `resolve` (the check its exported
   * checker runs too) reads them over the manager's defaults: what the recipe adds (`mode`,
   * `permits`), and the lock options. Errors name the resource.
   */
  #place<T>(
    resource: string,
    given: object,
    resolve: (options: object, defaults: LockOptions) => [T, ResolvedLockOptions],
  ): [string, T, ResolvedLockOptions] {
    const [own, resolved] = this.#check(resource, () => resolve(given, this.#defaults));
    return [this.#dirOf(resource, resolved), own, resolved];
  }

  /** The directory of `resource` and its options, resolved over the manager's defaults. */
  #locate(resource: string, options: LockOptions | undefined): [string, ResolvedLockOptions] {
    const resolved = this.#check(resource, () => resolveLockOptions(options, this.#defaults));
    return [this.#dirOf(resource, resolved), resolved];
  }

  /** The directory of `resource` under the resolved `rootDir`. */
  #dirOf(resource: string, { rootDir }: ResolvedLockOptions): string {
    return `${rootDir}/${encodeResource(resource)}`;
  }

  #connectionChanged(change: "suspended" | "reconnected" | { lost: string }): void {
    for (const holder of this.#holds) {
      if (typeof change === "string") {
        const holdMs = holder.connectionChanged(change);
        if (holdMs === undefined) continue;
        this.emit(change, eventOf(holder));
        const channel = change === "suspended" ? suspendChannel : reconnectChannel;
        if (channel.hasSubscribers) channel.publish(holdMessage(holder, eventOf(holder), holdMs));
      } else {
        this.#lose(holder, holder.lossError(change.lost));
      }
    }
  }

  /** Ends `holder`'s hold with `error`, and says so with the `lost` event and channel. */
  #lose(holder: Holder, error: LockLostError): void {
    const holdMs = holder.connectionChanged(error);
    if (holdMs === undefined) return;
    this.emit("lost", { ...eventOf(holder), holdMs, error });
    if (lostChannel.hasSubscribers)
      lostChannel.publish({ ...holdMessage(holder, eventOf(holder), holdMs), error });
  }

  #ensureDirectory(session: ZkSession, dir: string, rootDir: string): Promise<void> | undefined {
    if (this.#knownDirectories.has(dir)) return undefined;
    const pending = this.#pendingDirectories.get(dir);
    if (pending) return pending;
    const create = async (path: string, mode: CreateModeNumber) => {
      try {
        await session.create(path, "", mode);
      } catch (error) {
        if (error instanceof ZkCallError && error.rc === rc.NODEEXISTS) return;
        // "/" always exists, except as the chroot of the connect string: then nothing can be created.
        if (error instanceof ZkCallError && error.rc === rc.NONODE && path.lastIndexOf("/") === 0) {
          const { chroot } = parseConnectString(session.connectString, "connect");
          if (chroot !== undefined) throw missingChroot(session.connectString, chroot, error);
        }
        throw error;
      }
      const acl = this.#acl;
      if (acl) await session.setAcl(path, acl);
    };
    // Every create is sent now, parents first; ZooKeeper applies them in this order, before the
    // lock node's create that the caller sends next.
    const creates: Promise<void>[] = [];
    if (!this.#knownDirectories.has(rootDir)) {
      const segments = rootDir.split("/");
      for (let i = 2; i <= segments.length; i++)
        creates.push(create(segments.slice(0, i).join("/"), createMode.PERSISTENT));
    }
    // Below rootDir every level is a container, which the server deletes once it is empty: a
    // lock's directory, or a job's claim directory and its time buckets.
    const levels = levelsBelow(rootDir, dir).reverse();
    for (const level of levels) {
      if (level === dir || !this.#knownDirectories.has(level))
        creates.push(create(level, createMode.CONTAINER));
    }
    const done = Promise.all(creates).then(
      () => {
        this.#pendingDirectories.delete(dir);
        this.#remember(rootDir);
        for (const level of levels) this.#remember(level);
      },
      (error) => {
        this.#pendingDirectories.delete(dir);
        throw error;
      },
    );
    this.#pendingDirectories.set(dir, done);
    return done;
  }

  #remember(dir: string): void {
    this.#knownDirectories.add(dir);
    if (this.#knownDirectories.size > MAX_KNOWN_DIRECTORIES) {
      this.#knownDirectories.delete(this.#knownDirectories.values().next().value as string);
    }
  }

  #abandon(
    resource: string,
    dir: string,
    session: ZkSession,
    path: string | Promise<string | undefined>,
  ): Promise<void> {
    let node = typeof path === "string" ? path : dir;
    // A known node (every release) is deleted at once, without a turn of the event loop first.
    const deletion =
      typeof path === "string"
        ? session.deleteEventually(path)
        : path.then((found) => {
            if (!found) return;
            node = found;
            return session.deleteEventually(found);
          });
    const done = deletion.then(
      () => {},
      (error: unknown) => {
        // Nodes of a session that is over went with it.
        if (!session.over) {
          this.emit("cleanupFailed", { resource, path: node, error });
          if (cleanupFailedChannel.hasSubscribers)
            cleanupFailedChannel.publish({ resource, path: node, error });
        }
        throw error;
      },
    );
    // Callers may leave it unawaited (a lost hold, or whileConnected() returning at once while
    // disconnected): the failure is reported as cleanupFailed, so it must not crash the process as
    // an unhandled rejection.
    done.catch(() => {});
    return done;
  }
}

/** `dir` and each of its ancestors below `rootDir`, deepest first. */
function levelsBelow(rootDir: string, dir: string): string[] {
  const levels: string[] = [];
  for (let level = dir; level.length > rootDir.length; level = level.slice(0, level.lastIndexOf("/")))
    levels.push(level);
  return levels;
}

/** The chain's hold of the directory `path`, unless it already ended. */
const heldIn = (
  chain: ReadonlyMap<string, QueueHandle> | undefined,
  path: string,
): QueueHandle | undefined => {
  const handle = chain?.get(path);
  return handle !== undefined && handle.holdCount > 0 ? handle : undefined;
};

function requireFunction(fn: unknown, method: string, resource: string): void {
  if (typeof fn !== "function")
    throw new LockInvalidArgumentError(`${method}() needs a function; got ${describe(fn)}.`, resource);
}

/**
 * What `withLock()` and `withSemaphore()` hand their function: the token, the handle under `name`,
 * and its signal, read on demand (a hold whose signal nobody reads needs no AbortController).
 */
function contextOf<K extends string, H extends QueueHandle>(
  token: bigint,
  name: K,
  handle: H,
): { token: bigint; signal: AbortSignal } & Record<K, H> {
  const context = {
    token,
    [name]: handle,
    get signal() {
      return handle.signal;
    },
  };
  return context as typeof context & Record<K, H>;
}

/** A call that conflicts with the hold its own async call chain has of the resource. */
const chainConflict = (resource: string, why: string) =>
  new LockError("CONFLICT", `Refused on "${resource}": this async call chain ${why}.`, { resource });

const eventOf = (holder: Holder): LockEvent => ({
  resource: holder.resource,
  path: holder.nodePath ?? holder.path,
  token: holder.token ?? 0n,
});

const missingChroot = (connectString: string, chroot: string, cause: unknown) =>
  new LockError(
    "ZOOKEEPER",
    `ZooKeeper has no node ${chroot}, the chroot of the connect string "${connectString}", so no lock can be created under it: create it (zkCli.sh: create ${chroot}) or fix the connect string.`,
    { cause },
  );

/** Whether a client is closed (it has no session handle left), such as one the binding closed by itself. */
const isClosed = (client: ZooKeeperClient | TypeScriptClient | undefined) =>
  client !== undefined && (isTypeScriptClient(client) ? hasEnded(client.state) : client.timeout === -1);

/** The caller's abort, as the `ABORTED` LockError the rest of the API uses. */
const abortReason = (signal: AbortSignal | undefined, what: string) =>
  new LockError("ABORTED", `Stopped ${what}.`, { cause: signal?.reason });

const holdMessage = (holder: Holder, event: LockEvent, holdMs: number): HoldMessage => ({
  ...event,
  recipe: holder.recipe,
  mode: holder.mode,
  holdMs,
});

/**
 * The checked connect string and options of `connect()` or `open()` (`what`): how to connect,
 * and the manager's own options.
 */
function connectOptions(
  connectString: string,
  options: ZkConnectOptions | undefined,
  what: string,
): [ConnectString, ResolvedConnectOptions, ZkLockManagerOptions] {
  const given = optionsObject(options, what, optionNames.connect) as ZkConnectOptions;
  const { sessionTimeout, connectTimeout, client, tls, ...managerOptions } = given;
  const connect = parseConnectString(connectString, "The connect string");
  return [connect, resolveConnectOptions({ sessionTimeout, connectTimeout, client, tls }), managerOptions];
}

const isAcl = (entry: unknown): entry is ZkAcl => {
  const { perms, scheme, auth } = (entry ?? {}) as Partial<ZkAcl>;
  return Number.isInteger(perms) && typeof scheme === "string" && typeof auth === "string";
};
