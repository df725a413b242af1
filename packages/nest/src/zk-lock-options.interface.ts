import type { FactoryProvider, ModuleMetadata } from "@nestjs/common";
import type { LockOptions, ZkClient, ZkLockManager } from "@zk-dist-lock/core";

/** Defaults for every `@DistributedLock()` of the application (each decorator may override them). */
export type ZkLockDefaults = Pick<LockOptions, "rootDir" | "acquireTimeout" | "label">;

/** Where `@OncePerFiring()` reads the time from; `Date` by default. */
export interface ZkLockClock {
  /** Milliseconds since 1970, as `Date.now()`. */
  now(): number;
}

/** Options of the module besides how it connects. */
export interface ZkLockCommonOptions extends ZkLockDefaults {
  /**
   * The clock `@OncePerFiring()` computes fire times with: the same one the scheduler fires by
   * (`Date` by default). Tests give one that runs ahead or behind to play an instance whose clock is
   * skewed.
   */
  clock?: ZkLockClock;
}

/**
 * A client of yours, of the npm `zookeeper` package or of `@zk-dist-lock/client` (what
 * `ZkLockManager.init()` takes); the module uses it and leaves it open.
 */
export interface ZkLockClientOptions extends ZkLockCommonOptions {
  client: ZkClient;
  connect?: never;
  sessionTimeout?: never;
  connectTimeout?: never;
  waitForConnection?: never;
  manager?: never;
}

/**
 * The module creates a manager that owns its client (`ZkLockManager.connect()`): it opens a new
 * session by itself when one ends, and the module closes it when the application shuts down.
 */
export interface ZkLockConnectOptions extends ZkLockCommonOptions {
  /** ZooKeeper connect string, such as `"zk1:2181,zk2:2181,zk3:2181/app"`. */
  connect: string;
  /** Session timeout in milliseconds that the client asks the server for. Default 10000. */
  sessionTimeout?: number;
  /**
   * How long bootstrap waits for the first session, in ms, before it fails with a `CONNECTION`
   * error naming the connect string. Default 15000.
   */
  connectTimeout?: number;
  /**
   * With `false`, the application boots without waiting for ZooKeeper and the manager connects in
   * the background; locked calls meanwhile wait within their `acquireTimeout`, then fail with
   * `CONNECTION`. Watch it with `ZkLockHealthIndicator`. Default `true`.
   */
  waitForConnection?: boolean;
  client?: never;
  manager?: never;
}

/**
 * An existing manager, shared with the rest of the process (for example with the Express
 * middleware); the module neither closes it nor its client.
 */
export interface ZkLockManagerOptions extends ZkLockCommonOptions {
  manager: ZkLockManager;
  client?: never;
  connect?: never;
  sessionTimeout?: never;
  connectTimeout?: never;
  waitForConnection?: never;
}

/**
 * What `ZkLockModule` connects with: exactly one of `client`, `connect` or `manager`, plus the
 * defaults of every decorator.
 *
 * @example
 * ```ts
 * const options: ZkLockModuleOptions = { connect: "127.0.0.1:2181", rootDir: "/app/locks", acquireTimeout: 5000 };
 * ```
 */
export type ZkLockModuleOptions = ZkLockClientOptions | ZkLockConnectOptions | ZkLockManagerOptions;

/** Registration options that are not part of the lock options. */
export interface ZkLockRegistration {
  /** Registers the module globally, so every module can use the decorator and inject the manager. Default true. */
  isGlobal?: boolean;
}

/**
 * Options of `ZkLockModule.forRootAsync()`: a factory of {@link ZkLockModuleOptions} with its
 * dependencies, like `ConfigService`.
 *
 * @example
 * ```ts
 * ZkLockModule.forRootAsync({
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ connect: config.getOrThrow("ZK_CONNECT") }),
 * });
 * ```
 */
export interface ZkLockModuleAsyncOptions extends ZkLockRegistration, Pick<ModuleMetadata, "imports"> {
  inject?: FactoryProvider["inject"];
  // biome-ignore lint/suspicious/noExplicitAny: the injected values have whatever types `inject` names, as in Nest's FactoryProvider
  useFactory: (...args: any[]) => ZkLockModuleOptions | Promise<ZkLockModuleOptions>;
}
