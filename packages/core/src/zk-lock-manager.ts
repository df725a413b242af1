import { AsyncLocalStorage } from "node:async_hooks";
import { EventEmitter, once, setMaxListeners } from "node:events";
import type ZooKeeper from "zookeeper";
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
  type LockOptions,
  optionsObject,
  type ResolvedLockOptions,
  resolveLockOptions,
} from "./options.js";
import type { Holder } from "./queue/hold.js";
import { contendersOf, type Participant, readParticipant } from "./queue/participants.js";
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
import { decodeResource, describe, encodeResource } from "./resource-name.js";
import { assertClient, createMode, rc, type ZkAcl, ZkCallError } from "./session/zk-client.js";
import { ZkSession } from "./session/zk-session.js";

/** Options of a manager: defaults for every lock it creates, and the ACL of the nodes it creates. */
export interface ZkLockManagerOptions extends LockOptions {
  /**
   * ACL set on the directories the manager creates (`rootDir` and the per-resource directories).
   * ZooKeeper checks the parent's ACL when a node is deleted, so with digest authentication this
   * keeps other clients from deleting a holder's node. Default: open (`world:anyone`).
   */
  acl?: ZkAcl[];
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
}

/** What `withLock()` hands its function. */
export interface LockContext {
  token: bigint;
  /** Aborts when the hold is lost, and when it is released (see `ZkLock.signal`). */
  signal: AbortSignal;
  lock: ZkLock;
}

export interface LockInspection {
  resource: string;
  path: string;
  holder: Participant | undefined;
  /** In the order they will get the lock. */
  waiters: Participant[];
}

// Directories known to exist are remembered so that known resources cost no creates; the bound
// keeps a process with countless keys from growing without end (a forgotten one costs one create).
const MAX_KNOWN_DIRECTORIES = 10_000;

/**
 * Creates and tracks distributed locks on one ZooKeeper session. Make one per process and share
 * it: the Nest module and the Express middleware take it too.
 *
 * @example
 * ```ts
 * import ZooKeeper from "zookeeper";
 * import { ZkLockManager } from "@zk-dist-lock/core";
 *
 * const manager = new ZkLockManager();
 * manager.init(new ZooKeeper({ connect: "127.0.0.1:2181", timeout: 5000 }));
 * await manager.withLock("report:daily", async ({ token, signal }) => {
 *   await buildReport({ fence: token, signal });
 * });
 * ```
 */
export class ZkLockManager extends EventEmitter<LockEvents> {
  #session: ZkSession | undefined;
  #closed = false;
  readonly #defaults: LockOptions;
  readonly #acl: ZkAcl[] | undefined;
  readonly #holds = new Set<Holder>();
  readonly #chain = new AsyncLocalStorage<ReadonlyMap<string, ZkLock>>();
  readonly #knownDirectories = new Set<string>();
  readonly #pendingDirectories = new Map<string, Promise<void>>();
  readonly #host: ElectionHost;
  /** Tells elections waiting for a session that init() gave one, or that close() came. */
  readonly #sessions = new EventEmitter<{ session: [ZkSession]; error: [LockError] }>();

  constructor(options?: ZkLockManagerOptions) {
    super();
    const { acl, ...defaults } = optionsObject(options, "ZkLockManager options") as ZkLockManagerOptions;
    resolveLockOptions(defaults);
    if (acl !== undefined && (!Array.isArray(acl) || acl.length === 0 || !acl.every(isAcl))) {
      throw new LockInvalidArgumentError("acl must be a non-empty array of { perms, scheme, auth } entries.");
    }
    this.#defaults = defaults;
    this.#acl = acl;
    // Every lead() and observe() between sessions waits here.
    setMaxListeners(0, this.#sessions);
    const requireSession = () => this.#requireSession();
    this.#host = {
      get session() {
        return requireSession();
      },
      ensureDirectory: (dir, rootDir) => this.#ensureDirectory(dir, rootDir),
      forgetDirectory: (dir) => this.#knownDirectories.delete(dir),
      // Events are built only when someone listens: these two fire on every cycle.
      holdStarted: (holder, waitMs) => {
        this.#holds.add(holder);
        if (this.listenerCount("acquired") > 0) this.emit("acquired", { ...eventOf(holder), waitMs });
      },
      holdEnded: (holder, { path, token, lost }, holdMs) => {
        this.#holds.delete(holder);
        // A lost hold ended with its loss (the `lost` event and channel); its release ends nothing more.
        if (lost) return;
        const ended = { resource: holder.resource, path, token };
        if (this.listenerCount("released") > 0) this.emit("released", { ...ended, holdMs });
        if (releaseChannel.hasSubscribers) releaseChannel.publish(holdMessage(holder, ended, holdMs));
      },
      abandon: (resource, dir, session, path) => this.#abandon(resource, dir, session, path),
      liveSession: (signal) => this.#liveSession(signal),
    };
  }

  /**
   * Binds the manager to a client of the npm `zookeeper` package: connected, connecting, or
   * configured but not started (then it is started). Call again with a new client after the
   * previous session expired.
   */
  init(zkClient: ZooKeeper): this {
    const client: unknown = zkClient;
    assertClient(client);
    if (this.#closed)
      throw new LockError("NOT_INITIALIZED", "This ZkLockManager was closed; create a new one.");
    const current = this.#session;
    if (current?.client === client) return this;
    if (current && !current.overSignal.aborted) {
      throw new LockInvalidArgumentError(
        "init() was already called with another client whose session is still alive.",
      );
    }
    current?.detach(new LockError("CONNECTION", "init() replaced the ZooKeeper client."));
    const session = new ZkSession(client);
    session.on("suspended", () => this.#connectionChanged("suspended"));
    session.on("reconnected", () => this.#connectionChanged("reconnected"));
    session.on("lost", (reason) => this.#connectionChanged({ lost: reason }));
    this.#session = session;
    this.#knownDirectories.clear();
    this.#sessions.emit("session", session);
    return this;
  }

  /** The client given to `init()`. */
  get client(): ZooKeeper {
    return this.#requireSession().client as unknown as ZooKeeper;
  }

  /**
   * A lock on `resource`, which may be any string up to 512 UTF-8 bytes: it is encoded into one
   * znode name under `rootDir`. Throws `LockInvalidArgumentError` for bad input, before any request.
   */
  createLock(resource: string, options?: LockOptions): ZkLock {
    const [path, resolved] = this.#locate(resource, options);
    this.#requireSession(resource);
    return new ZkLock(this.#host, resource, path, resolved);
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
   * Runs `fn` holding the lock and releases it however `fn` ends. Inside `fn` (and everything it
   * calls, also concurrently), `withLock` on the same resource joins the hold instead of waiting
   * for itself, as long as the hold lasts: it counts up at once (or fails with the `LOST` error of
   * a lost hold, or `ABORTED` for a signal that already aborted). A call that runs after the hold
   * was released, from a timer `fn` left behind, is a call of its own. Concurrent, unrelated calls
   * queue in arrival order, each on its own terms.
   *
   * @example
   * ```ts
   * const total = await manager.withLock(`account:${id}`, async ({ token, signal }) => {
   *   return ledger.post(entry, { fence: token, signal });
   * }, { acquireTimeout: 2000 });
   * ```
   */
  async withLock<T>(
    resource: string,
    fn: (context: LockContext) => T | Promise<T>,
    options?: LockOptions & AcquireOptions,
  ): Promise<T> {
    if (typeof fn !== "function")
      throw new LockInvalidArgumentError(`withLock() needs a function; got ${describe(fn)}.`, resource);
    const { signal, timeout, ...lockOptions } = optionsObject(options, "withLock() options") as LockOptions &
      AcquireOptions;
    const [path, resolved] = this.#locate(resource, lockOptions);
    const held = this.#chain.getStore();
    const joined = heldIn(held, path);
    const lock = joined ?? new ZkLock(this.#host, resource, path, resolved);
    const token = await lock.acquire({ signal, timeout });
    try {
      const context: LockContext = {
        token,
        lock,
        // Read on demand: a hold whose signal nobody reads needs no AbortController.
        get signal() {
          return lock.signal;
        },
      };
      if (joined) return await fn(context);
      return await this.#chain.run(new Map(held).set(path, lock), () => fn(context));
    } finally {
      await lock.release();
    }
  }

  /**
   * The lock on `resource` that the current async call chain holds through `withLock()`, if any:
   * undefined once that hold was released, also in a callback `fn` left behind. A hold that was
   * lost is still returned until its `withLock()` ends (its `state` is `"lost"`).
   */
  current(resource: string, options?: LockOptions): ZkLock | undefined {
    return heldIn(this.#chain.getStore(), this.#locate(resource, options)[0]);
  }

  /** Who holds `resource` and who waits, in order, with what their nodes say about them. */
  async inspect(resource: string, options?: LockOptions): Promise<LockInspection> {
    const [path] = this.#locate(resource, options);
    try {
      return await this.#inspect(resource, path);
    } catch (error) {
      throw withResource(error, resource);
    }
  }

  async #inspect(resource: string, path: string): Promise<LockInspection> {
    const session = this.#requireSession();
    const contenders = await contendersOf(session, path);
    const participants = (
      await Promise.all(contenders.map((node) => readParticipant(session, path, node)))
    ).filter((p) => p !== undefined);
    return { resource, path, holder: participants[0], waiters: participants.slice(1) };
  }

  /** The resources that have a directory under `rootDir` now, decoded. */
  async resources(options?: Pick<LockOptions, "rootDir">): Promise<string[]> {
    const { rootDir } = resolveLockOptions(options, this.#defaults);
    const session = this.#requireSession();
    try {
      const [children] = await session.listRetrying(rootDir);
      return children.map(decodeResource);
    } catch (error) {
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return [];
      throw error;
    }
  }

  /**
   * Releases every hold of this manager and detaches it from the client, which stays open: the
   * caller created it and closes it. Later calls fail with `NOT_INITIALIZED`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#holds].map((lock) => lock[Symbol.asyncDispose]()));
    this.#session?.detach(
      new LockError("NOT_INITIALIZED", "The ZkLockManager was closed while this waited for a lock."),
    );
    this.#session = undefined;
    if (this.#sessions.listenerCount("error") > 0)
      this.#sessions.emit("error", new LockError("NOT_INITIALIZED", "The ZkLockManager was closed."));
  }

  #requireSession(resource?: string): ZkSession {
    if (this.#session) return this.#session;
    throw new LockError(
      "NOT_INITIALIZED",
      this.#closed
        ? "This ZkLockManager was closed; create a new one."
        : "Call init(zkClient) on the ZkLockManager before using it.",
      { resource },
    );
  }

  #locate(resource: string, options: LockOptions | undefined): [string, ResolvedLockOptions] {
    const name = encodeResource(resource);
    try {
      const resolved = resolveLockOptions(options, this.#defaults);
      return [`${resolved.rootDir}/${name}`, resolved];
    } catch (error) {
      throw withResource(error, resource);
    }
  }

  /** A session that is not over: the current one, or the next one `init()` is given. */
  async #liveSession(signal?: AbortSignal): Promise<ZkSession> {
    const session = this.#requireSession();
    if (!session.overSignal.aborted) return session;
    const [next] = await once(this.#sessions, "session", { signal });
    return next;
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
        const error = holder.lossError(change.lost);
        const holdMs = holder.connectionChanged(error);
        if (holdMs === undefined) continue;
        this.emit("lost", { ...eventOf(holder), holdMs, error });
        if (lostChannel.hasSubscribers)
          lostChannel.publish({ ...holdMessage(holder, eventOf(holder), holdMs), error });
      }
    }
  }

  #ensureDirectory(dir: string, rootDir: string): Promise<void> | undefined {
    if (this.#knownDirectories.has(dir)) return undefined;
    const pending = this.#pendingDirectories.get(dir);
    if (pending) return pending;
    const session = this.#requireSession();
    const create = async (path: string, mode: number) => {
      try {
        await session.create(path, "", mode);
      } catch (error) {
        if (error instanceof ZkCallError && error.rc === rc.NODEEXISTS) return;
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
    creates.push(create(dir, createMode.CONTAINER));
    const done = Promise.all(creates).then(
      () => {
        this.#pendingDirectories.delete(dir);
        this.#remember(rootDir);
        this.#remember(dir);
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
    const deletion = Promise.resolve(path).then((found) => {
      if (!found) return;
      node = found;
      return session.deleteEventually(found);
    });
    deletion.catch((error) => {
      this.emit("cleanupFailed", { resource, path: node, error });
      if (cleanupFailedChannel.hasSubscribers) cleanupFailedChannel.publish({ resource, path: node, error });
    });
    const done = deletion.then(() => {});
    // Callers may leave it unawaited (a lost hold, or whileConnected() returning at once while
    // disconnected): the failure is reported as cleanupFailed, so it must not crash the process as
    // an unhandled rejection.
    done.catch(() => {});
    return done;
  }
}

/** The chain's lock on the directory `path`, unless its hold already ended. */
const heldIn = (chain: ReadonlyMap<string, ZkLock> | undefined, path: string): ZkLock | undefined => {
  const lock = chain?.get(path);
  return lock !== undefined && lock.holdCount > 0 ? lock : undefined;
};

const eventOf = (holder: Holder): LockEvent => ({
  resource: holder.resource,
  path: holder.nodePath ?? holder.path,
  token: holder.token ?? 0n,
});

const holdMessage = (holder: Holder, event: LockEvent, holdMs: number): HoldMessage => ({
  ...event,
  recipe: holder.recipe,
  mode: holder.mode,
  holdMs,
});

const isAcl = (entry: unknown): entry is ZkAcl => {
  const { perms, scheme, auth } = (entry ?? {}) as Partial<ZkAcl>;
  return Number.isInteger(perms) && typeof scheme === "string" && typeof auth === "string";
};
