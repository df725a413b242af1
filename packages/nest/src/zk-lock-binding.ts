import { LockInvalidArgumentError, ZkLockManager } from "@zk-dist-lock/core";
import ZooKeeper from "zookeeper";
import type { ZkLockDefaults, ZkLockModuleOptions } from "./zk-lock-options.interface.js";

/** What the module hands every `@DistributedLock()`: the manager and the decorator defaults. */
export interface ZkLockBinding {
  readonly manager: ZkLockManager;
  readonly defaults: ZkLockDefaults;
  /** Closes what the module created, and nothing else. */
  close(): Promise<void>;
}

const DEFAULT_SESSION_TIMEOUT = 10_000;

/**
 * Turns the module options into a manager: uses a given manager as is, binds a new manager to a
 * given client, or creates client and manager. Throws `LockInvalidArgumentError` for bad options
 * before anything connects.
 */
export function openBinding(options: ZkLockModuleOptions): ZkLockBinding {
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
  // The manager validates the defaults, so bad ones fail here, at bootstrap.
  const manager = new ZkLockManager(defaults);
  if (options.client !== undefined) {
    manager.init(options.client);
    return { manager, defaults, close: () => manager.close() };
  }
  const client = createClient(options.connect, options.sessionTimeout);
  try {
    manager.init(client);
  } catch (error) {
    client.close();
    throw error;
  }
  return {
    manager,
    defaults,
    close: async () => {
      await manager.close();
      client.close();
    },
  };
}

function createClient(connect: unknown, sessionTimeout: unknown = DEFAULT_SESSION_TIMEOUT): ZooKeeper {
  if (typeof connect !== "string" || connect.trim() === "") {
    throw new LockInvalidArgumentError(
      'ZkLockModule option connect must be a connect string such as "127.0.0.1:2181".',
    );
  }
  if (typeof sessionTimeout !== "number" || !Number.isInteger(sessionTimeout) || sessionTimeout <= 0) {
    throw new LockInvalidArgumentError(
      "ZkLockModule option sessionTimeout must be a positive whole number of milliseconds.",
    );
  }
  return new ZooKeeper({ connect, timeout: sessionTimeout });
}
