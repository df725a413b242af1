import type { FactoryProvider, ModuleMetadata } from "@nestjs/common";
import type {
  ZkLockManagerOptions as CoreManagerOptions,
  LockOptions,
  ZkClient,
  ZkConnectOptions,
  ZkLockManager,
} from "@zk-dist-lock/core";

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
 * What core's `ZkLockManager.connect()` takes besides the lock defaults (`sessionTimeout`,
 * `connectTimeout`, `client`, `tls`, `auth`, `acl`, and whatever core adds): taken from core's own
 * type, so that every option of `connect()` reaches it through the module.
 */
export type ZkLockConnectionOptions = Omit<ZkConnectOptions, keyof LockOptions>;

/** What a manager bound to a client of yours takes besides the lock defaults (`auth`, `acl`), from core's type. */
export type ZkLockClientManagerOptions = Omit<CoreManagerOptions, keyof LockOptions>;

/** Options of the other ways of connecting, refused by the type where they do not apply. */
type Absent<T> = { [K in keyof T]?: never };

/**
 * A client of yours, of the npm `zookeeper` package or of `@zk-dist-lock/client` (what
 * `ZkLockManager.init()` takes); the module uses it and leaves it open. `auth` and `acl` go to the
 * manager as in `new ZkLockManager({ auth, acl })`.
 */
export interface ZkLockClientOptions
  extends ZkLockCommonOptions,
    ZkLockClientManagerOptions,
    Absent<Omit<ZkLockConnectionOptions, keyof ZkLockClientManagerOptions | "client">> {
  client: ZkClient;
  connect?: never;
  waitForConnection?: never;
  manager?: never;
}

/**
 * The module creates a manager that owns its client with `ZkLockManager.connect(connect, options)`
 * (or `open()`, without waiting): it opens a new session by itself when one ends, and the module
 * closes it when the application shuts down. Every option of `connect()` passes through:
 * `sessionTimeout`, `connectTimeout` (how long bootstrap waits for the first session before it
 * fails with `CONNECTION`, default 15000), `auth`, `acl`, `tls`, and `client` (`"zookeeper"` for
 * the npm binding; here it names the kind of client, not a client).
 */
export interface ZkLockConnectOptions extends ZkLockCommonOptions, ZkLockConnectionOptions {
  /** ZooKeeper connect string, such as `"zk1:2181,zk2:2181,zk3:2181/app"`. */
  connect: string;
  /**
   * With `false`, the application boots without waiting for ZooKeeper and the manager connects in
   * the background; locked calls meanwhile wait within their `acquireTimeout`, then fail with
   * `CONNECTION`. Watch it with `ZkLockHealthIndicator`. Default `true`.
   */
  waitForConnection?: boolean;
  manager?: never;
}

/**
 * An existing manager, shared with the rest of the process (for example with the Express
 * middleware); the module neither closes it nor its client, and how it connects was settled when it
 * was made.
 */
export interface ZkLockManagerOptions extends ZkLockCommonOptions, Absent<ZkLockConnectionOptions> {
  manager: ZkLockManager;
  connect?: never;
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
