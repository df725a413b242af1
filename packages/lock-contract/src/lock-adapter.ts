import type ZooKeeper from "zookeeper";

/**
 * One way of taking a lock, as the contract drives it: core `withLock()`, a Nest `@DistributedLock()`
 * method, an Express route behind `distributedLock()`.
 *
 * @example
 * ```ts
 * const adapter: LockAdapter = {
 *   run: (key, work) => manager.withLock(key, ({ token }) => work(token), { rootDir }),
 *   close: async () => {},
 * };
 * ```
 */
export interface LockAdapter {
  /**
   * Runs `work` holding the lock on `key` through the integration, with the hold's fencing token,
   * and settles as the integration's caller sees it end: with the work's result, or rejected with
   * an error whose message includes the work's error message. Results must survive JSON, because an
   * HTTP integration sends them over the wire.
   */
  run<T>(key: string, work: (token: bigint) => Promise<T>): Promise<T>;
  /**
   * Only for an integration whose caller can go away while the work runs, such as an HTTP client
   * that closes its connection mid-request; leave it out otherwise (the cases that need it are
   * skipped). Runs `work` holding the lock on `key` through the integration, as `run()` does, for a
   * caller that will leave: `work` gets `leave`, which makes the caller go away and resolves once
   * the integration has seen it go (its own handling of that moment has run). Settles when the
   * work has ended, as the work did; a result would be lost with the caller, so there is none.
   */
  runLeaving?(key: string, work: (token: bigint, leave: () => Promise<void>) => Promise<void>): Promise<void>;
  /** Frees what the adapter set up (an application, a server); never the manager it was given. */
  close(): Promise<void>;
}

/**
 * What the contract needs of a `ZkLockManager`. Written out rather than imported so that this
 * package does not depend on `@zk-dist-lock/core`, which depends on it (for its own contract test):
 * turbo refuses a cycle in the package graph. `ZkLockManager` satisfies it.
 */
export interface ContractManager {
  init(client: ZooKeeper): unknown;
  withLock<T>(
    resource: string,
    fn: (context: { token: bigint }) => T | Promise<T>,
    options?: { rootDir?: string; timeout?: number },
  ): Promise<T>;
  inspect(
    resource: string,
    options?: { rootDir?: string },
  ): Promise<{ holder: object | undefined; waiters: object[] }>;
  close(): Promise<void>;
}

/** Builds the adapter of one integration on `manager`, locking under `rootDir`. */
export type MakeAdapter<M extends ContractManager> = (manager: M, rootDir: string) => Promise<LockAdapter>;

/** How the contract gets its managers. */
export interface ContractOptions<M extends ContractManager> {
  /**
   * A new, uninitialised manager; the contract binds it to a session of its own. Passed in so that
   * the manager class is the one the integration under test loaded.
   */
  createManager: () => M;
  /**
   * Connects the client each manager is bound to (its `init()` must take it). Default: a client
   * of the npm `zookeeper` package.
   */
  connectClient?: (connect: string) => Promise<ContractClient>;
}

/** A connected client for a manager's `init()`, and how to close it once the manager is closed. */
export interface ContractClient {
  client: unknown;
  close(): unknown;
}
