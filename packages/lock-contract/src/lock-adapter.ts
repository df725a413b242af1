import type ZooKeeper from "zookeeper";

/**
 * What a contract run holds on its key: an exclusive lock, a shared lock, or one permit of a
 * semaphore of {@link CONTRACT_PERMITS} permits. An adapter serves all three through its
 * integration (a route or a decorated method for each).
 *
 * @example
 * ```ts
 * const options = (hold: ContractHold) =>
 *   hold === "semaphore" ? { permits: CONTRACT_PERMITS } : { mode: hold };
 * ```
 */
export type ContractHold = "exclusive" | "shared" | "semaphore";

/** Every {@link ContractHold}, for adapters that set up one route or method per hold. */
export const CONTRACT_HOLDS: readonly ContractHold[] = ["exclusive", "shared", "semaphore"];

/**
 * The permits of the contract's semaphore: adapters give it to their semaphore route or method,
 * whose options are fixed when it is defined.
 */
export const CONTRACT_PERMITS = 3;

/**
 * One way of taking a lock, as the contract drives it: core `withLock()`/`withSemaphore()`, a Nest
 * `@DistributedLock()`/`@DistributedSemaphore()` method, an Express route behind
 * `distributedLock()`/`distributedSemaphore()`.
 *
 * @example
 * ```ts
 * const adapter: LockAdapter = {
 *   run: (key, hold, work) => holdWithManager(manager, key, hold, { rootDir }, ({ token }) => work(token)),
 *   close: async () => {},
 * };
 * ```
 */
export interface LockAdapter {
  /**
   * Runs `work` holding `hold` on `key` through the integration, with the hold's fencing token,
   * and settles as the integration's caller sees it end: with the work's result, or rejected with
   * an error whose message includes the work's error message. Results must survive JSON, because an
   * HTTP integration sends them over the wire.
   */
  run<T>(key: string, hold: ContractHold, work: (token: bigint) => Promise<T>): Promise<T>;
  /**
   * Only for an integration whose caller can go away while the work runs, such as an HTTP client
   * that closes its connection mid-request; leave it out otherwise (the cases that need it are
   * skipped). Runs `work` holding `hold` on `key` through the integration, as `run()` does, for a
   * caller that will leave: `work` gets `leave`, which makes the caller go away and resolves once
   * the integration has seen it go (its own handling of that moment has run). Settles when the
   * work has ended, as the work did; a result would be lost with the caller, so there is none.
   */
  runLeaving?(
    key: string,
    hold: ContractHold,
    work: (token: bigint, leave: () => Promise<void>) => Promise<void>,
  ): Promise<void>;
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
    options?: { rootDir?: string; timeout?: number; mode?: "exclusive" | "shared" },
  ): Promise<T>;
  withSemaphore<T>(
    resource: string,
    fn: (context: { token: bigint }) => T | Promise<T>,
    options: { permits: number; rootDir?: string; timeout?: number },
  ): Promise<T>;
  inspect(
    resource: string,
    options?: { rootDir?: string },
  ): Promise<{ holder: object | undefined; holders: object[]; waiters: object[] }>;
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
