import { randomUUID } from "node:crypto";
import { Attempt } from "./attempt.js";
import { isLockError, LockError, LockLostError, LockTimeoutError } from "./errors.js";
import { nodePrefix, ownerData, sortContenders } from "./lock-node.js";
import { type AcquireOptions, type ResolvedLockOptions, validateAcquireOptions } from "./options.js";
import { createMode, isConnectionCode, rc, ZkCallError, type ZkSession } from "./zk-session.js";

/** What a lock needs from its manager. */
export interface LockHost {
  readonly session: ZkSession;
  /** Sends the creates for `dir` and its ancestors unless the manager knows they exist. */
  ensureDirectory(dir: string, rootDir: string): Promise<void> | undefined;
  forgetDirectory(dir: string): void;
  /**
   * Deletes this session's node at `path` (guaranteed deletion, in the background if need be).
   * The promise rejects on failure, and the manager also reports it, so it may be left unawaited.
   */
  abandon(lock: ZkLock, session: ZkSession, path: string | Promise<string | undefined>): Promise<void>;
  holdStarted(lock: ZkLock, waitMs: number): void;
  holdEnded(lock: ZkLock, holdMs: number): void;
}

/** Where a lock stands: not held, being acquired, held, held while disconnected, or lost. */
export type LockState = "idle" | "acquiring" | "held" | "suspended" | "lost";

interface Hold {
  /** The session the lock node belongs to (the manager may have moved on to another). */
  session: ZkSession;
  path: string;
  token: bigint;
  count: number;
  since: number;
  suspended: boolean;
  lost: LockLostError | undefined;
  /** Made when `signal` is first read: most holds never read it. */
  controller: AbortController | undefined;
}

/**
 * A lock on one resource, made by `ZkLockManager.createLock()`. One handle is one owner: acquiring
 * it again while it holds is re-entrant and returns the same fencing token.
 *
 * @example
 * ```ts
 * const lock = manager.createLock("invoice:42", { acquireTimeout: 2000 });
 * const token = await lock.acquire();
 * try {
 *   await db.query("UPDATE invoices SET … , fence = $1 WHERE id = 42 AND fence < $1", [token]);
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export class ZkLock implements AsyncDisposable {
  #hold: Hold | undefined;
  #acquiring: Promise<bigint> | undefined;

  /** @internal */
  constructor(
    private readonly host: LockHost,
    /** The resource as the caller named it. */
    readonly resource: string,
    /** The resource's own directory in ZooKeeper. */
    readonly path: string,
    private readonly options: ResolvedLockOptions,
  ) {}

  get state(): LockState {
    if (this.#hold) return this.#hold.lost ? "lost" : this.#hold.suspended ? "suspended" : "held";
    return this.#acquiring ? "acquiring" : "idle";
  }

  /** Whether this handle holds the lock and has not lost it. */
  get isHeld(): boolean {
    return this.#hold !== undefined && this.#hold.lost === undefined;
  }

  /** The fencing token of the current hold, or undefined when not holding. */
  get token(): bigint | undefined {
    return this.#hold?.token;
  }

  /** The lock node of the current hold. */
  get nodePath(): string | undefined {
    return this.#hold?.path;
  }

  /** How many times the current hold was acquired and not yet released. */
  get holdCount(): number {
    return this.#hold?.count ?? 0;
  }

  /**
   * Aborts, with a `LockLostError`, when the current hold is lost; an aborted signal when not
   * holding. Hand it to the work done under the lock so it stops when the lock is gone.
   */
  get signal(): AbortSignal {
    return (
      this.#holdController()?.signal ??
      AbortSignal.abort(new LockError("NOT_HELD", "The lock is not held.", { resource: this.resource }))
    );
  }

  #holdController(): AbortController | undefined {
    const hold = this.#hold;
    if (!hold || hold.controller) return hold?.controller;
    hold.controller = new AbortController();
    if (hold.lost) hold.controller.abort(hold.lost);
    return hold.controller;
  }

  /**
   * Waits for the lock and resolves to its fencing token: a number that grows with every new
   * holder of this resource, for a data store to refuse writes from a holder that lost the lock.
   * Acquiring a held handle again counts up and resolves to the same token.
   *
   * Rejects with `LockTimeoutError` after the timeout, a `LockError` with code `ABORTED` when the
   * signal aborts, or `CONNECTION` when the session ends; in each case nothing is left behind.
   */
  async acquire(options?: AcquireOptions): Promise<bigint> {
    const { signal, timeout = this.options.acquireTimeout } = validateAcquireOptions(options);
    if (this.#acquiring) await this.#acquiring;
    const hold = this.#hold;
    if (hold) {
      if (hold.lost) throw hold.lost;
      hold.count++;
      return hold.token;
    }
    this.#acquiring = this.#contend(signal, timeout);
    try {
      return await this.#acquiring;
    } finally {
      this.#acquiring = undefined;
    }
  }

  /** Takes the lock if nobody holds it, without waiting: the token, or undefined when it is taken. */
  async tryAcquire(): Promise<bigint | undefined> {
    try {
      return await this.acquire({ timeout: 0 });
    } catch (error) {
      if (isLockError(error, "TIMEOUT")) return undefined;
      throw error;
    }
  }

  /**
   * Counts one acquisition down and, at zero, deletes the lock node so the next waiter gets it.
   * Rejects with code `NOT_HELD` when the handle holds nothing. After a loss it resolves without
   * touching any other owner's node.
   */
  async release(): Promise<void> {
    const hold = this.#hold;
    if (!hold)
      throw new LockError("NOT_HELD", `release() without a hold on "${this.resource}".`, {
        resource: this.resource,
      });
    if (--hold.count > 0) return;
    this.#hold = undefined;
    this.host.holdEnded(this, performance.now() - hold.since);
    hold.controller?.abort(new LockError("NOT_HELD", "The lock was released.", { resource: this.resource }));
    await hold.session.whileConnected(this.host.abandon(this, hold.session, hold.path));
  }

  /** `await using lock = …` releases every acquisition still held when the scope ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    while (this.#hold) await this.release();
  }

  /**
   * @internal The connection dropped (suspended), came back, or the hold is lost.
   * Returns how long the hold has lasted.
   */
  connectionChanged(change: "suspended" | "reconnected" | LockLostError): number {
    const hold = this.#hold;
    if (!hold || hold.lost) return 0;
    if (change instanceof LockLostError) {
      hold.lost = change;
      hold.controller?.abort(change);
      // If the session still lives, the node does too and would block everyone: delete it once
      // the connection is back.
      this.host.abandon(this, hold.session, hold.path);
    } else {
      hold.suspended = change === "suspended";
    }
    return performance.now() - hold.since;
  }

  async #contend(userSignal: AbortSignal | undefined, timeout: number | undefined): Promise<bigint> {
    const started = performance.now();
    const { session } = this.host;
    const attempt = new Attempt(this.resource, userSignal, timeout, session.overSignal);
    const prefix = nodePrefix(randomUUID());
    let name: string | undefined;
    let creating = false;
    try {
      attempt.throwIfStopped();
      let children: string[];
      let pzxid: number;
      creating = true;
      [name, children, pzxid] = await this.#create(session, prefix, attempt);
      creating = false;
      for (;;) {
        const contenders = sortContenders(children);
        const index = contenders.indexOf(name);
        if (index < 0)
          throw new LockError(
            "CONNECTION",
            `The lock node of "${this.resource}" disappeared while waiting; the session may have expired.`,
            { resource: this.resource },
          );
        if (index === 0) return this.#start(session, name, pzxid, started);
        if (timeout === 0) throw new LockTimeoutError(this.resource, 0);
        await this.#predecessorGone(session, `${this.path}/${contenders[index - 1]}`, attempt.signal);
        // Re-list: the predecessor may have given up rather than released; it says nothing of our turn.
        [children, { pzxid }] = await session.listRetrying(this.path, attempt.signal);
      }
    } catch (error) {
      const reason = attempt.reason ?? error;
      // A create in flight may have succeeded on the server: find it by its GUID and delete it.
      const abandoned = name ? `${this.path}/${name}` : creating ? this.#findOwn(session, prefix) : undefined;
      if (abandoned)
        await session.whileConnected(this.host.abandon(this, session, abandoned)).catch(() => {});
      throw reason;
    } finally {
      attempt.dispose();
    }
  }

  #start(session: ZkSession, name: string, pzxid: number, started: number): bigint {
    if (!Number.isSafeInteger(pzxid)) {
      throw new LockError(
        "ZOOKEEPER",
        `ZooKeeper returned a zxid (${pzxid}) beyond what the client reports exactly.`,
        { resource: this.resource },
      );
    }
    this.#hold = {
      session,
      path: `${this.path}/${name}`,
      // The zxid of the listing that shows this node first: at least its creation zxid, and above
      // every zxid of the previous holder's tenure, whose deletion that listing already reflects.
      token: BigInt(pzxid),
      count: 1,
      since: performance.now(),
      suspended: !session.connected,
      lost: undefined,
      controller: undefined,
    };
    this.host.holdStarted(this, performance.now() - started);
    return this.#hold.token;
  }

  /**
   * Creates this attempt's ephemeral sequential node and lists the contenders in the same round
   * trip: ZooKeeper answers a session's requests in order, so the listing already contains it.
   */
  async #create(session: ZkSession, prefix: string, attempt: Attempt): Promise<[string, string[], number]> {
    const data = ownerData(this.options.label);
    for (;;) {
      const directory = this.host.ensureDirectory(this.path, this.options.rootDir);
      const created = session.create(`${this.path}/${prefix}`, data, createMode.EPHEMERAL_SEQUENTIAL);
      const listed = session.list(this.path);
      const [dirResult, createResult, listResult] = await Promise.allSettled([directory, created, listed]);
      if (createResult.status === "fulfilled") {
        const name = createResult.value.slice(this.path.length + 1);
        if (listResult.status === "fulfilled") return [name, listResult.value[0], listResult.value[1].pzxid];
        const [children, stat] = await session.listRetrying(this.path, attempt.signal);
        return [name, children, stat.pzxid];
      }
      const error = createResult.reason;
      if (dirResult.status === "rejected" && !isRetryable(dirResult.reason)) throw dirResult.reason;
      if (!(error instanceof ZkCallError)) throw error;
      if (error.rc === rc.NONODE) {
        // The directory was reaped (containers vanish when empty): create it again and retry.
        this.host.forgetDirectory(this.path);
      } else if (isConnectionCode(error.rc)) {
        // The create may have succeeded with its reply lost: look for our node before creating another.
        await session.whenConnected(attempt.signal);
        const path = await this.#findOwn(session, prefix, attempt.signal);
        if (path) {
          const [children, stat] = await session.listRetrying(this.path, attempt.signal);
          return [path.slice(this.path.length + 1), children, stat.pzxid];
        }
      } else {
        throw error;
      }
      attempt.throwIfStopped();
    }
  }

  /** The path of this session's node with the attempt's GUID prefix, if the server has one. */
  async #findOwn(session: ZkSession, prefix: string, signal?: AbortSignal): Promise<string | undefined> {
    let children: string[];
    try {
      [children] = await session.listRetrying(this.path, signal);
    } catch (error) {
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
      throw error;
    }
    for (const child of children) {
      if (!child.startsWith(prefix)) continue;
      const path = `${this.path}/${child}`;
      const stat = await session.stat(path, signal);
      if (stat.ephemeralOwner === session.sessionId) return path;
    }
    return undefined;
  }

  /** Resolves when the node just ahead is gone (at once if it already is); one watch, on it alone. */
  #predecessorGone(session: ZkSession, path: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      // An abort listener added to an already aborted signal never runs.
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => reject(signal.reason);
      const done = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      session.watchNode(path, done).then(
        (exists) => exists || done(),
        (error) => {
          signal.removeEventListener("abort", onAbort);
          if (error instanceof ZkCallError && isConnectionCode(error.rc)) {
            // Re-list once connected; the loop decides again from fresh children.
            session.whenConnected(signal).then(resolve, reject);
          } else reject(error);
        },
      );
    });
  }
}

const isRetryable = (error: unknown) =>
  error instanceof ZkCallError && (isConnectionCode(error.rc) || error.rc === rc.NONODE);
