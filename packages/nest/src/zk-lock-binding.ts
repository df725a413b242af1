import {
  checkLockOptions,
  isLockError,
  LockInvalidArgumentError,
  type ZkClientKind,
  ZkLockManager,
} from "@zk-dist-lock/core";
import { LeaderElections } from "./leader-elections.js";
import type {
  ZkLockClock,
  ZkLockConnectOptions,
  ZkLockDefaults,
  ZkLockModuleOptions,
} from "./zk-lock-options.interface.js";

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
export async function openBinding(moduleOptions: ZkLockModuleOptions): Promise<ZkLockBinding> {
  if (typeof moduleOptions !== "object" || moduleOptions === null) {
    throw new LockInvalidArgumentError(
      "ZkLockModule options must be an object with client, connect or manager.",
    );
  }
  // An option given as undefined is not given, as the types allow (a forRootAsync factory that
  // picks client or connect): it must not reach core, which takes only the options its call knows.
  const options = Object.fromEntries(
    Object.entries(moduleOptions).filter(([, value]) => value !== undefined),
  ) as ZkLockModuleOptions;
  // Beside connect, a string client names the kind of client connect() creates (core's option).
  const given = (["client", "connect", "manager"] as const).filter((name) =>
    name === "client"
      ? !isClientKind(options.client) && options.client !== undefined
      : options[name] !== undefined,
  );
  if (given.length === 0 && isClientKind(options.client)) {
    throw new LockInvalidArgumentError(
      `ZkLockModule option client ${JSON.stringify(options.client)} names the kind of client that connect creates: give connect (a connect string) too, or a client object instead.`,
    );
  }
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
  const [manager, closeOwned] = await openManager(options);
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
async function openManager(options: ZkLockModuleOptions): Promise<[ZkLockManager, () => Promise<void>]> {
  if (options.manager !== undefined) {
    if (!(options.manager instanceof ZkLockManager)) {
      throw new LockInvalidArgumentError(
        "ZkLockModule option manager must be a ZkLockManager of @zk-dist-lock/core (one copy of that package per process).",
      );
    }
    // Core never sees these options: one given here would be dropped in silence.
    const extra = Object.keys(options).filter((key) => !besideManager.has(key));
    if (extra.length > 0) {
      throw new LockInvalidArgumentError(
        `ZkLockModule options: ${extra.join(", ")} cannot be given with manager: how a manager connects was settled when it was created (give them to ZkLockManager.connect() there). Beside manager the module takes ${[...besideManager].filter((key) => key !== "manager").join(", ")}.`,
      );
    }
    return [options.manager, async () => {}];
  }
  // The module's own options stay here; every other passes through to core, which checks it.
  if (options.client !== undefined && !isClientKind(options.client)) {
    const { client, clock: _clock, ...managerOptions } = options;
    const manager = inModuleOptions(() => new ZkLockManager(managerOptions)).init(client);
    return [manager, () => manager.close()];
  }
  const {
    connect,
    waitForConnection = true,
    clock: _clock,
    ...connectOptions
  } = options as ZkLockConnectOptions;
  if (typeof waitForConnection !== "boolean") {
    throw new LockInvalidArgumentError("ZkLockModule option waitForConnection must be true or false.");
  }
  // A manager that owns its client: it opens a new session by itself whenever one ends.
  const manager = waitForConnection
    ? await inModuleOptions(() => ZkLockManager.connect(connect, connectOptions))
    : inModuleOptions(() => ZkLockManager.open(connect, connectOptions));
  return [manager, () => manager.close()];
}

/** What the module takes beside a given manager: its defaults and its own options. */
const besideManager: ReadonlySet<string> = new Set([
  "manager",
  "rootDir",
  "acquireTimeout",
  "label",
  "clock",
]);

const isClientKind = (client: unknown): client is ZkClientKind => typeof client === "string";

/**
 * Runs core's `connect()`, `open()` or constructor on the module's options, its `INVALID_ARGUMENT`
 * (a bad or unknown option) saying that it is about the module's options.
 */
function inModuleOptions<T>(create: () => T): T {
  const refused = (error: unknown): never => {
    if (isLockError(error, "INVALID_ARGUMENT")) {
      const invalid = new LockInvalidArgumentError(`ZkLockModule options: ${error.message}`);
      throw Object.assign(invalid, { cause: error });
    }
    throw error;
  };
  try {
    const created = create();
    return (created instanceof Promise ? created.catch(refused) : created) as T;
  } catch (error) {
    return refused(error);
  }
}
