import { LockInvalidArgumentError, ZkLockManager } from "@zk-dist-lock/core";
import type { ZkLockDefaults, ZkLockModuleOptions } from "./zk-lock-options.interface.js";

/** What the module hands every `@DistributedLock()`: the manager and the decorator defaults. */
export interface ZkLockBinding {
  readonly manager: ZkLockManager;
  readonly defaults: ZkLockDefaults;
  /** Closes what the module created, and nothing else. */
  close(): Promise<void>;
}

/**
 * Turns the module options into a manager: uses a given manager as is, binds a new manager to a
 * given client, or creates a manager that owns its client and, unless told not to, waits for its
 * first session. Throws `LockInvalidArgumentError` for bad options before anything connects, and
 * the `CONNECTION` error of `ZkLockManager.connect()` when ZooKeeper does not answer in time.
 */
export async function openBinding(options: ZkLockModuleOptions): Promise<ZkLockBinding> {
  if (typeof options !== "object" || options === null) {
    throw new LockInvalidArgumentError(
      "ZkLockModule options must be an object with client, connect or manager.",
    );
  }
  const given = (["client", "connect", "manager"] as const).filter((name) => options[name] !== undefined);
  if (given.length !== 1) {
    throw new LockInvalidArgumentError(
      `ZkLockModule needs exactly one of client (a zookeeper client), connect (a connect string) or manager (a ZkLockManager); got ${given.length === 0 ? "none" : given.join(" and ")}.`,
    );
  }
  const { rootDir, acquireTimeout, label } = options;
  const defaults: ZkLockDefaults = Object.fromEntries(
    Object.entries({ rootDir, acquireTimeout, label }).filter(([, value]) => value !== undefined),
  );
  if (options.manager !== undefined) {
    if (!(options.manager instanceof ZkLockManager)) {
      throw new LockInvalidArgumentError(
        "ZkLockModule option manager must be a ZkLockManager of @zk-dist-lock/core (one copy of that package per process).",
      );
    }
    return { manager: options.manager, defaults, close: async () => {} };
  }
  if (options.client !== undefined) {
    // The manager validates the defaults, so bad ones fail here, at bootstrap.
    const manager = new ZkLockManager(defaults).init(options.client);
    return { manager, defaults, close: () => manager.close() };
  }
  const { connect, sessionTimeout, connectTimeout, waitForConnection = true } = options;
  if (typeof waitForConnection !== "boolean") {
    throw new LockInvalidArgumentError("ZkLockModule option waitForConnection must be true or false.");
  }
  const connectOptions = { ...defaults, sessionTimeout, connectTimeout };
  const manager = waitForConnection
    ? await ZkLockManager.connect(connect, connectOptions)
    : ZkLockManager.open(connect, connectOptions);
  return { manager, defaults, close: () => manager.close() };
}
