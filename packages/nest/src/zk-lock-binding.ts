import { checkLockOptions, LockInvalidArgumentError, ZkLockManager } from "@zk-dist-lock/core";
import { LeaderElections } from "./leader-elections.js";
import type { ZkLockClock, ZkLockDefaults, ZkLockModuleOptions } from "./zk-lock-options.interface.js";

/** What the module hands every decorated method: the manager, the defaults, the elections, the clock. */
export interface ZkLockBinding {
  readonly manager: ZkLockManager;
  readonly defaults: ZkLockDefaults;
  /** The elections of the `@LeaderOnly()` methods, started and resigned with the application. */
  readonly elections: LeaderElections;
  /** What `@OncePerFiring()` reads the time of a firing from (the module's `clock` option). */
  readonly clock: ZkLockClock;
  /** Resigns the elections, then closes what the module created, and nothing else. */
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
      `ZkLockModule needs exactly one of client (a client of @zk-dist-lock/client or of the npm zookeeper package), connect (a connect string) or manager (a ZkLockManager); got ${given.length === 0 ? "none" : given.join(" and ")}.`,
    );
  }
  const { rootDir, acquireTimeout, label, clock = Date } = options;
  if (typeof clock?.now !== "function") {
    throw new LockInvalidArgumentError(
      "ZkLockModule option clock must have a now() method returning epoch milliseconds.",
    );
  }
  const defaults: ZkLockDefaults = Object.fromEntries(
    Object.entries({ rootDir, acquireTimeout, label }).filter(([, value]) => value !== undefined),
  );
  // Checked here for every way of getting a manager: a given manager never sees these defaults, so
  // a bad one would otherwise fail only at the first locked call.
  checkLockOptions(defaults, "ZkLockModule options");
  const [manager, closeOwned] = await openManager(options, defaults);
  const elections = new LeaderElections(manager, label);
  return {
    manager,
    defaults,
    elections,
    clock,
    close: async () => {
      await elections.stop();
      await closeOwned();
    },
  };
}

/** The manager the options name or describe, and how to close what this created of it. */
async function openManager(
  options: ZkLockModuleOptions,
  defaults: ZkLockDefaults,
): Promise<[ZkLockManager, () => Promise<void>]> {
  if (options.manager !== undefined) {
    if (!(options.manager instanceof ZkLockManager)) {
      throw new LockInvalidArgumentError(
        "ZkLockModule option manager must be a ZkLockManager of @zk-dist-lock/core (one copy of that package per process).",
      );
    }
    return [options.manager, async () => {}];
  }
  if (options.client !== undefined) {
    const manager = new ZkLockManager(defaults).init(options.client);
    return [manager, () => manager.close()];
  }
  const { connect, sessionTimeout, connectTimeout, waitForConnection = true } = options;
  if (typeof waitForConnection !== "boolean") {
    throw new LockInvalidArgumentError("ZkLockModule option waitForConnection must be true or false.");
  }
  const connectOptions = { ...defaults, sessionTimeout, connectTimeout };
  // A manager that owns its client: it opens a new session by itself whenever one ends.
  const manager = waitForConnection
    ? await ZkLockManager.connect(connect, connectOptions)
    : ZkLockManager.open(connect, connectOptions);
  return [manager, () => manager.close()];
}
