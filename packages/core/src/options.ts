import type { ConnectionOptions as TlsOptions } from "node:tls";
import { LockInvalidArgumentError } from "./errors.js";
import { describe, validateRootDir } from "./resource-name.js";
import type { ZkAuth } from "./session/zk-client.js";

/** Where a lock lives and how long `acquire()` waits by default. */
export interface LockOptions {
  /** Parent path of the per-resource lock directories. Default `"/locks"`. */
  rootDir?: string;
  /** Milliseconds `acquire()` waits before failing with `LockTimeoutError`. Default: wait until acquired or aborted. */
  acquireTimeout?: number;
  /** Free text stored in the lock node for operators (see `inspect()`), such as a job or request id. */
  label?: string;
}

/**
 * How a lock is held: `"exclusive"` (the default), by one holder at a time, or `"shared"`, together
 * with every other shared holder and never with an exclusive one (a read-write lock's read side).
 * The same modes as the Web Locks API's `navigator.locks.request(name, { mode })`.
 *
 * @example
 * ```ts
 * const mode: LockMode = request.method === "GET" ? "shared" : "exclusive";
 * await manager.withLock(`cart:${id}`, handle, { mode });
 * ```
 */
export type LockMode = "exclusive" | "shared";

/**
 * Options of `createLock()` and `withLock()`: where the lock lives, and its mode.
 *
 * @example
 * ```ts
 * const report = manager.createLock("report:2026-12", { mode: "shared", acquireTimeout: 2000 });
 * ```
 */
export interface CreateLockOptions extends LockOptions {
  /** `"exclusive"` (default) or `"shared"`; see {@link LockMode}. */
  mode?: LockMode;
}

/**
 * Options of `createSemaphore()` and `withSemaphore()`: how many may hold at once, and where the
 * semaphore lives (in `rootDir`, beside the locks: a resource is either a lock or a semaphore).
 *
 * @example
 * ```ts
 * const quota = manager.createSemaphore("geocoder-api", { permits: 5, acquireTimeout: 10_000 });
 * ```
 */
export interface SemaphoreOptions extends LockOptions {
  /**
   * How many holders at once, across every process: a positive integer. Every process must give
   * the same number for one resource; one that does not fails with `CONFLICT`.
   */
  permits: number;
}

/** Per-call options of `acquire()`. */
export interface AcquireOptions {
  /** Gives up waiting when aborted; the attempt leaves nothing behind in ZooKeeper. */
  signal?: AbortSignal;
  /** Overrides the lock's `acquireTimeout` for this call; `0` tries once without waiting. */
  timeout?: number;
}

export const DEFAULT_ROOT_DIR = "/locks";
const MAX_LABEL_LENGTH = 256;

/** The lock options with defaults applied, checked once when a lock is created. */
export interface ResolvedLockOptions {
  rootDir: string;
  acquireTimeout: number | undefined;
  label: string | undefined;
}

/** The names of the options a call takes; {@link optionsObject} refuses any other. */
export type OptionNames = ReadonlySet<string>;

const LOCK_OPTION_NAMES = ["rootDir", "acquireTimeout", "label"] as const;
const ACQUIRE_OPTION_NAMES = ["signal", "timeout"] as const;
const names = (...lists: readonly (readonly string[])[]): OptionNames => new Set(lists.flat());

/** The option names of each call, in the order its type declares them (messages list them so). */
export const optionNames = {
  lock: names(LOCK_OPTION_NAMES),
  createLock: names(LOCK_OPTION_NAMES, ["mode"]),
  createSemaphore: names(LOCK_OPTION_NAMES, ["permits"]),
  withLock: names(LOCK_OPTION_NAMES, ["mode"], ACQUIRE_OPTION_NAMES),
  withSemaphore: names(LOCK_OPTION_NAMES, ["permits"], ACQUIRE_OPTION_NAMES),
  manager: names(LOCK_OPTION_NAMES, ["acl", "auth"]),
  connect: names(LOCK_OPTION_NAMES, ["acl", "auth", "sessionTimeout", "connectTimeout", "client", "tls"]),
  acquire: names(ACQUIRE_OPTION_NAMES),
  inspect: names(LOCK_OPTION_NAMES, ACQUIRE_OPTION_NAMES),
  resources: names(["rootDir"], ACQUIRE_OPTION_NAMES),
  election: names(["rootDir", "label"]),
  firingClaims: names(["rootDir", "retention", "label"]),
  signalOnly: names(["signal"]),
} as const;

// What a left-out options object reads as: shared, so that a call without options allocates nothing.
const NO_OPTIONS: object = Object.freeze({});

/**
 * The options object of a call, an empty one when left out. Anything else, `null` included, is
 * refused: `null` is not "no options", as no option is ever `null` (only `undefined` means "not
 * given"). With `known`, a key that is not one of them is refused too, naming the nearest known
 * one when it looks like a typo of it: an option spelt wrong would otherwise be ignored in
 * silence, its default taking its place. The check walks the keys without allocating: acquire()
 * and withLock() run it on every call.
 */
export function optionsObject(options: unknown, what: string, known?: OptionNames): object {
  if (options === undefined) return NO_OPTIONS;
  if (typeof options !== "object" || options === null) {
    throw new LockInvalidArgumentError(`${what} must be an object; got ${describe(options)}.`);
  }
  if (known !== undefined) {
    for (const key in options) if (!known.has(key)) throw unknownOption(key, known, what);
  }
  return options;
}

function unknownOption(key: string, known: OptionNames, what: string): LockInvalidArgumentError {
  const nearest = nearestName(key, known);
  const hint =
    nearest === undefined
      ? `the options are ${[...known].join(", ")}.`
      : `did you mean ${JSON.stringify(nearest)}?`;
  return new LockInvalidArgumentError(`${what}: unknown option ${JSON.stringify(key)}; ${hint}`);
}

/** The known name `key` is a typo of (the same but for case, or one or two edits away), if any. */
function nearestName(key: string, known: OptionNames): string | undefined {
  // Two edits in a short key make another word ("tls" from "ttl"): allow one edit per three letters.
  const limit = Math.min(2, Math.floor(key.length / 3));
  let nearest: string | undefined;
  let nearestDistance = limit + 1;
  for (const name of known) {
    if (name.toLowerCase() === key.toLowerCase()) return name;
    const distance = editDistance(key, name);
    if (distance < nearestDistance) {
      nearest = name;
      nearestDistance = distance;
    }
  }
  return nearest;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

export function resolveLockOptions(options: unknown, defaults: LockOptions = {}): ResolvedLockOptions {
  // An option given as undefined means "not given": it must not hide the manager's default. `null`
  // is given, and refused by the option's own check (a `null` rootDir is not a path). Only the
  // three names are read, not every key: `withLock()` resolves its options on every call, and the
  // options object carries others (`mode`, `signal`), which the caller checked by name.
  const {
    rootDir = defaults.rootDir,
    acquireTimeout = defaults.acquireTimeout,
    label = defaults.label,
  } = optionsObject(options, "Lock options") as LockOptions;
  if (label !== undefined && (typeof label !== "string" || label.length > MAX_LABEL_LENGTH)) {
    throw new LockInvalidArgumentError(`label must be a string of at most ${MAX_LABEL_LENGTH} characters.`);
  }
  return {
    rootDir: validateRootDir(rootDir === undefined ? DEFAULT_ROOT_DIR : rootDir),
    acquireTimeout: validateTimeout(acquireTimeout, "acquireTimeout"),
    label,
  };
}

/**
 * A lock's options as `createLock()`, `withLock()` and {@link checkLockOptions} read them: its
 * `mode` checked, and the rest resolved over `defaults`. Keys that are not lock options (acquire
 * options beside them, an integration's own) are left alone.
 */
export function resolveCreateLockOptions(
  options: object,
  defaults?: LockOptions,
): [LockMode, ResolvedLockOptions] {
  return [validateMode((options as CreateLockOptions).mode), resolveLockOptions(options, defaults)];
}

/** A semaphore's options as `createSemaphore()`, `withSemaphore()` and {@link checkSemaphoreOptions} read them. */
export function resolveSemaphoreOptions(
  options: object,
  defaults?: LockOptions,
): [number, ResolvedLockOptions] {
  return [validatePermits((options as SemaphoreOptions).permits), resolveLockOptions(options, defaults)];
}

/** Checks a lock's `mode`: `"exclusive"` when left out. */
function validateMode(mode: unknown): LockMode {
  if (mode === undefined) return "exclusive";
  if (mode === "exclusive" || mode === "shared") return mode;
  throw new LockInvalidArgumentError(`mode must be "exclusive" or "shared"; got ${describe(mode)}.`);
}

/** Checks a semaphore's `permits`: a positive integer, which its node names carry. */
function validatePermits(permits: unknown): number {
  if (typeof permits !== "number" || !Number.isSafeInteger(permits) || permits < 1) {
    throw new LockInvalidArgumentError(
      `permits must be a positive integer: how many may hold the semaphore at once; got ${describe(permits)}.`,
    );
  }
  return permits;
}

/** A timeout is absent, or a finite number of milliseconds from 0 up to what a timer can hold. */
export function validateTimeout(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 2_147_483_647) {
    throw new LockInvalidArgumentError(
      `${name} must be a number of milliseconds from 0 to 2147483647, or left out to wait without limit; got ${describe(value)}.`,
    );
  }
  return value;
}

/**
 * Checks the options of a wait: `acquire()`, `campaign()`, `waitForConnection()` (`signal` and
 * `timeout`), or `known` ones of them (`lead()` and `observe()` take only a signal). `what` names
 * them in messages. Returns them as given, so that a call allocates nothing for them.
 */
export function validateAcquireOptions(
  options: unknown,
  what: string,
  known: OptionNames = optionNames.acquire,
): AcquireOptions {
  const checked = optionsObject(options, what, known) as AcquireOptions;
  const { signal, timeout } = checked;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new LockInvalidArgumentError(`signal must be an AbortSignal; got ${describe(signal)}.`);
  }
  validateTimeout(timeout, "timeout");
  return checked;
}

/**
 * Which ZooKeeper client a manager from `ZkLockManager.connect()` runs on: `@zk-dist-lock/client`
 * (pure TypeScript, the default) or the npm `zookeeper` binding (installed separately).
 */
export type ZkClientKind = "@zk-dist-lock/client" | "zookeeper";

const CLIENT_KINDS: readonly ZkClientKind[] = ["@zk-dist-lock/client", "zookeeper"];

/** How `ZkLockManager.connect()` connects, with its defaults applied. */
export interface ResolvedConnectOptions {
  sessionTimeout: number;
  connectTimeout: number;
  client: ZkClientKind;
  /** `tls.connect()` options for every connection, or undefined for plain TCP. */
  tls: TlsOptions | undefined;
}

export const DEFAULT_SESSION_TIMEOUT = 10_000;
// Curator's default connection timeout.
export const DEFAULT_CONNECT_TIMEOUT = 15_000;

/** Checks `sessionTimeout`, `connectTimeout`, `client` and `tls` of `ZkLockManager.connect()`. */
export function resolveConnectOptions(options: {
  sessionTimeout?: unknown;
  connectTimeout?: unknown;
  client?: unknown;
  tls?: unknown;
}): ResolvedConnectOptions {
  const {
    sessionTimeout = DEFAULT_SESSION_TIMEOUT,
    connectTimeout = DEFAULT_CONNECT_TIMEOUT,
    client = "@zk-dist-lock/client",
    tls,
  } = options;
  if (!CLIENT_KINDS.includes(client as ZkClientKind)) {
    throw new LockInvalidArgumentError(
      `client must be "@zk-dist-lock/client" (the default) or "zookeeper" (the npm binding); got ${describe(client)}.`,
    );
  }
  if (
    !Number.isInteger(sessionTimeout) ||
    (sessionTimeout as number) <= 0 ||
    (sessionTimeout as number) > 2_147_483_647
  ) {
    throw new LockInvalidArgumentError(
      `sessionTimeout must be a whole number of milliseconds above 0 (the server grants between 2 and 20 ticks, by default 4 to 40 s); got ${describe(sessionTimeout)}.`,
    );
  }
  if (tls !== undefined && (typeof tls !== "object" || tls === null || Array.isArray(tls))) {
    throw new LockInvalidArgumentError(
      `tls must be tls.connect() options, such as { ca, cert, key }; got ${describe(tls)}.`,
    );
  }
  // The binding's C client is built without TLS: a manager on it would talk in plain text to a port
  // that expects a handshake and never get a session, an outage that is really a mistake.
  if (tls !== undefined && client === "zookeeper") {
    throw new LockInvalidArgumentError(
      'tls needs client "@zk-dist-lock/client": the npm zookeeper binding has no TLS. Leave the client option out, or connect without tls.',
    );
  }
  return {
    sessionTimeout: sessionTimeout as number,
    connectTimeout: validateTimeout(connectTimeout, "connectTimeout") ?? DEFAULT_CONNECT_TIMEOUT,
    client: client as ZkClientKind,
    tls: tls as TlsOptions | undefined,
  };
}

/** Checks the `auth` option: `{ scheme, credentials }` entries, as `add_auth` takes them. */
export function validateAuth(auth: unknown): ZkAuth[] {
  if (auth === undefined) return [];
  const isAuth = (entry: unknown): entry is ZkAuth => {
    const { scheme, credentials } = (entry ?? {}) as Partial<ZkAuth>;
    return typeof scheme === "string" && scheme !== "" && typeof credentials === "string";
  };
  if (!Array.isArray(auth) || !auth.every(isAuth)) {
    throw new LockInvalidArgumentError(
      'auth must be an array of { scheme, credentials } entries, such as digestAuth("locker", secret).',
    );
  }
  return auth.map(({ scheme, credentials }) => ({ scheme, credentials }));
}

/**
 * Checks lock options exactly as every lock created with them will (`createLock()` and
 * `withLock()` run the same check, `mode` included, and refuse an option they do not know), so that
 * an integration refuses bad options when it is set up rather than at its first lock, and without
 * a throwaway manager. `ownOptions` names the integration's own options, which may stand beside
 * the lock's; any other key is refused, as a typo usually is. Throws `LockInvalidArgumentError`
 * whose message starts with `where`.
 *
 * @example
 * ```ts
 * import { checkLockOptions } from "@zk-dist-lock/core";
 *
 * checkLockOptions({ rootDir: "/app/locks", acquireTimeout: 2000 }, "myMiddleware() options"); // fine
 * checkLockOptions({ key: "k", acquireTimeout: 2000 }, "myMiddleware() options", ["key"]); // fine
 * checkLockOptions({ rootDir: "locks" }, "myMiddleware() options");
 * // LockInvalidArgumentError: myMiddleware() options: rootDir "locks" must be an absolute path …
 * checkLockOptions({ mode: "read" }, "myMiddleware() options");
 * // LockInvalidArgumentError: myMiddleware() options: mode must be "exclusive" or "shared"; …
 * checkLockOptions({ acquireTimout: 2000 }, "myMiddleware() options");
 * // LockInvalidArgumentError: myMiddleware() options: unknown option "acquireTimout"; did you mean "acquireTimeout"?
 * ```
 */
export function checkLockOptions(options: unknown, where: string, ownOptions: readonly string[] = []): void {
  checkOptions(options, where, optionNames.createLock, ownOptions, (given) =>
    resolveCreateLockOptions(given),
  );
}

/**
 * Checks semaphore options as every semaphore created with them will (`createSemaphore()`,
 * `withSemaphore()`: `permits` is required), the way {@link checkLockOptions} checks a lock's.
 *
 * @example
 * ```ts
 * checkSemaphoreOptions({ permits: 5 }, "rateLimit() options"); // fine
 * checkSemaphoreOptions({ permits: 0 }, "rateLimit() options");
 * // LockInvalidArgumentError: rateLimit() options: permits must be a positive integer: …
 * ```
 */
export function checkSemaphoreOptions(
  options: unknown,
  where: string,
  ownOptions: readonly string[] = [],
): void {
  checkOptions(options, where, optionNames.createSemaphore, ownOptions, (given) =>
    resolveSemaphoreOptions(given),
  );
}

/**
 * What every `check…Options()` does: refuses a key that is neither in `known` nor one of
 * `ownOptions`, then runs `resolve` (the call's own resolver) on the options, and gives its
 * `LockInvalidArgumentError` back with a message that starts with `where`.
 */
export function checkOptions(
  options: unknown,
  where: string,
  known: OptionNames,
  ownOptions: readonly string[],
  resolve: (given: object) => unknown,
): void {
  const given = optionsObject(options, where, withOwn(known, ownOptions));
  checkedIn(where, () => resolve(given));
}

/** `known` and an integration's own option names; checked once, when the integration is set up. */
function withOwn(known: OptionNames, own: readonly string[]): OptionNames {
  if (!Array.isArray(own) || !own.every((name) => typeof name === "string")) {
    throw new LockInvalidArgumentError(`ownOptions must be an array of option names; got ${describe(own)}.`);
  }
  return own.length === 0 ? known : new Set([...known, ...own]);
}

/** Runs `check`; its `LockInvalidArgumentError` comes back with a message that starts with `where`. */
function checkedIn(where: string, check: () => unknown): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof LockInvalidArgumentError)) throw error;
    throw new LockInvalidArgumentError(`${where}: ${error.message}`);
  }
}
