// The npm `zookeeper` binding as a ZkDriver: its callback calls and result codes typed as they
// behave at run time, the settings core starts its clients with, and its one quirk that no other
// client has: it closes a client by itself, as if expired, while the session lives on.
import { EventEmitter } from "node:events";
import { LockError, LockInvalidArgumentError } from "../errors.js";
import { describe } from "../resource-name.js";
import { backoffDelay } from "./backoff.js";
import {
  type Created,
  type CreateModeNumber,
  type DriverEvents,
  isConnectionCode,
  type OnChange,
  rc,
  sessionOverCodes,
  type ZkAcl,
  type ZkAuth,
  ZkCallError,
  type ZkDriver,
  type ZkStat,
} from "./zk-client.js";

/** `client.state` values (the C client's `ZOO_*_STATE`). */
export const clientState = {
  CONNECTED: 3,
  /** Set by the C client's init, left so by a handle the binding had already closed: it never connects. */
  NOT_CONNECTED: 999,
} as const;
/** Watch event types (the C client's `ZOO_*_EVENT`). */
const SESSION_EVENT = -1;
const DELETED_EVENT = 2;
/** The code of a client's `close` event (the C client's state): 0 when closed by a call of close(). */
const closeCode = { EXPIRED: -112, AUTH_FAILED: -113 } as const;

/** A stat as the binding gives it: zxids as JS numbers, the owner in hex. */
interface BindingStat {
  czxid: number;
  pzxid: number;
  ctime: Date | number;
  ephemeralOwner: string;
}

type Callback<T extends unknown[]> = (code: number, message: string, ...result: T) => void;
type Watcher = (type: number, state: number, path: string) => void;

/**
 * The calls of the native binding behind a client of the npm `zookeeper` package. They are the
 * wrapper's calls without its logging, which formats every call's arguments with `util.inspect`
 * even when no logger is set: about a fifth of an uncontended lock cycle's CPU time.
 */
export interface NativeCalls {
  a_create(path: string, data: string | Buffer, flags: number, cb: Callback<[string]>): number;
  a_get_children2(path: string, watch: boolean, cb: Callback<[string[], BindingStat]>): number;
  aw_get(path: string, watcher: Watcher, cb: Callback<[BindingStat, Buffer | string]>): number;
  aw_get_children2(path: string, watcher: Watcher, cb: Callback<[string[], BindingStat]>): number;
  aw_exists(path: string, watcher: Watcher, cb: Callback<[BindingStat]>): number;
  a_get(path: string, watch: boolean, cb: Callback<[BindingStat, Buffer | string]>): number;
  a_exists(path: string, watch: boolean, cb: Callback<[BindingStat]>): number;
  a_sync(path: string, cb: Callback<[string]>): number;
  a_delete_(path: string, version: number, cb: Callback<[]>): number;
  a_set(path: string, data: string | Buffer, version: number, cb: Callback<[BindingStat]>): number;
  add_auth(scheme: string, credentials: string, cb: Callback<[]>): number;
}

/**
 * A client of the npm `zookeeper` package, as `init()` takes it and `manager.client` gives it back:
 * a few of its members, declared here so that core's types compile without that optional package
 * installed. A `ZooKeeper` of the package is one; cast `manager.client` to it for the rest of its
 * API. `init()` checks at run time that the client has every call zk-dist-lock makes.
 *
 * @example
 * ```ts
 * import ZooKeeper from "zookeeper";
 *
 * const zk: ZooKeeperBindingClient = new ZooKeeper({ connect: "zk1:2181,zk2:2181", timeout: 10_000 });
 * const manager = new ZkLockManager({ rootDir: "/locks" }).init(zk);
 * ```
 */
export interface ZooKeeperBindingClient {
  readonly state: number;
  /** The negotiated session timeout in ms; -1 before the client was started and once it is closed. */
  readonly timeout: number;
  /** The session id, in hex (typed as a number by the package, but a string at run time). */
  readonly client_id: string | number;
  /** The session password, 32 hex digits: with the id, what a new client needs to rejoin the session. */
  readonly client_password: string;
  /** The native binding's handle, which the manager calls directly (see `NativeCalls`). */
  readonly native: unknown;
  /** Starts the client; the constructor's settings win over these. */
  init(config: object): unknown;
  /** Ends the session when connected (sending the server a close), else only drops the client. */
  close(): unknown;
}

/**
 * The part of a client of the npm `zookeeper` package that zk-dist-lock uses, typed as it behaves at
 * run time (the package's own declarations type result messages and the session id as numbers).
 */
export interface ZooKeeperClient extends ZooKeeperBindingClient {
  /** What the constructor was given (`connect`, `timeout`, …), which the package keeps. */
  readonly config?: Readonly<Record<string, unknown>> | undefined;
  readonly native: NativeCalls;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Through the wrapper, which converts the ACL entries to the binding's form. */
  a_set_acl(path: string, version: number, acl: ZkAcl[], cb: Callback<[]>): number;
}

/** What the manager gives a client it creates: the binding's settings (see `ownClientSettings`). */
export interface ClientSettings {
  connect: string;
  timeout: number;
  /** Both set to rejoin an existing session. */
  client_id?: string;
  client_password?: string;
  response_counter_limit?: number;
}

/** Makes a client, not yet started, for the settings; the manager starts it. */
export type ClientFactory = (settings: ClientSettings) => ZooKeeperClient;

/**
 * The binding's settings for every client the manager starts. `response_counter_limit` stays the
 * binding's default, 10: a client that polls its socket ten times in a row for nothing is closed
 * (reported as -112), which the driver sees and answers by rejoining the session with a fresh
 * client, whereas a higher limit only turns that close into a spin that nothing reports.
 */
const ownClientSettings = { response_counter_limit: 10 } as const;

const clientMethods = ["init", "close", "on", "off", "a_set_acl"] as const;
const nativeMethods = [
  "a_create",
  "a_get_children2",
  "aw_get",
  "aw_get_children2",
  "aw_exists",
  "a_get",
  "a_exists",
  "a_sync",
  "a_delete_",
  "a_set",
  "add_auth",
] as const;

/** The names of the binding's calls that `value` lacks; none for a client of the npm `zookeeper` package. */
export function missingBindingCalls(value: unknown): string[] {
  const functionsOf = (object: unknown, names: readonly string[], prefix = "") =>
    names
      .filter((m) => typeof (object as Record<string, unknown> | null)?.[m] !== "function")
      .map((m) => prefix + m);
  return [
    ...functionsOf(value, clientMethods),
    ...functionsOf((value as { native?: unknown } | null)?.native, nativeMethods, "native."),
  ];
}

/**
 * Starts a client that is configured but not started, with the manager's settings (the
 * constructor's win), and adds `auth`. Throws `CONNECTION` when none of the connect string's hosts
 * resolves to an address (the C client resolves them as it starts, and starts no client without
 * one): an outage, as DNS that is not ready yet is, which the caller may wait out by starting
 * another client later, as the default client's next attempt resolves them again. Throws
 * `INVALID_ARGUMENT` for a client that had been closed.
 */
export function startClient(client: ZooKeeperClient, auth: readonly ZkAuth[], connect: string): void {
  client.init({ ...ownClientSettings });
  if (client.timeout === -1) {
    throw new LockError(
      "CONNECTION",
      `The zookeeper client could not start with connect string ${describe(connect)}: none of its hosts resolves to an address (yet): check the names and DNS`,
    );
  }
  if (client.state === clientState.NOT_CONNECTED) {
    client.close();
    throw new LockInvalidArgumentError(
      "The zookeeper client was closed; a closed client never connects again: create a new one.",
    );
  }
  for (const { scheme, credentials } of auth) client.native.add_auth(scheme, credentials, () => {});
}

export interface BindingDriverOptions {
  /** The servers, for clients that rejoin the session. */
  connectString: string;
  /**
   * Makes a client that rejoins this session when its client closes by itself while the session
   * may still live; without it, such a close ends the session.
   */
  createClient: ClientFactory | undefined;
  /** Authentication added to every client this driver starts. */
  auth: readonly ZkAuth[];
  /** Whether the first client is the manager's own, to be closed with the session. */
  ownsClient: boolean;
}

/**
 * One session on clients of the npm `zookeeper` binding. It turns callbacks into promises that keep
 * the result code.
 *
 * A session may outlive its client. The binding sometimes closes a client by itself, reporting
 * -112 ("expired"), although the server never expired the session: after ten polls of its socket
 * that found nothing to read (which is what a socket inherited by a child process produces once the
 * connection drops). The session then still lives at the server with its ephemeral nodes, so with
 * `createClient` a fresh client rejoins it (same id and password), again with a growing pause, until
 * one connects or the session timeout has passed since the connection was lost. A fresh client the
 * server tells that the session expired closes before its pending requests are failed, while one
 * closed by the binding fails them first: that order tells a real expiry from another false close.
 * Watches set through a replaced client fire nowhere, so they fire once the new one connects, and
 * their waiters look again.
 */
export class BindingDriver extends EventEmitter<DriverEvents> implements ZkDriver {
  #client: ZooKeeperClient;
  #calls: NativeCalls;
  /** The current client must not be called: it failed a call as closing, or closed. */
  #unusable = false;
  #connected: boolean;
  #everConnected = false;
  #over = false;
  #id: string | undefined;
  #password: string | undefined;
  #timeout: number;
  /** When the connection was lost (or the driver started, before it first connected). */
  #disconnectedAt = performance.now();
  #rejoinTimer: NodeJS.Timeout | undefined;
  #rejoins = 0;
  #wakeWatchersOnConnect = false;
  readonly #watchers = new Set<OnChange>();
  readonly #owned = new Set<ZooKeeperClient>();
  /** Rejoining clients whose canary request is still pending (see the class comment). */
  readonly #canaryPending = new WeakSet<ZooKeeperClient>();
  readonly #listeners = new Map<ZooKeeperClient, [string, (...args: unknown[]) => void][]>();

  constructor(
    client: ZooKeeperClient,
    private readonly options: BindingDriverOptions,
  ) {
    super();
    this.#client = client;
    this.#calls = client.native;
    this.#connected = client.state === clientState.CONNECTED;
    this.#timeout = client.timeout;
    if (options.ownsClient) this.#owned.add(client);
    this.#follow(client);
    if (this.#connected) this.#onConnect(client);
  }

  get client(): ZooKeeperClient {
    return this.#client;
  }

  get connected(): boolean {
    return this.#connected;
  }

  get usable(): boolean {
    return !this.#unusable;
  }

  get sessionId(): string {
    return this.#id ?? String(this.#client.client_id);
  }

  get timeout(): number {
    return this.#timeout;
  }

  /** The C client keeps its failed attempts to its own log. */
  get connectionFailures(): undefined {
    return undefined;
  }

  get ownsClient(): boolean {
    return this.#owned.has(this.#client);
  }

  /** A client of its own still trying may yet reconnect to the session; rejoining ones only tried. */
  keepsTrying(): boolean {
    return this.#rejoins === 0;
  }

  detach(): void {
    this.#over = true;
    clearTimeout(this.#rejoinTimer);
    for (const client of this.#listeners.keys()) this.#unfollow(client);
  }

  closeOwned({ connectedToo = true } = {}): void {
    for (const client of this.#owned) {
      if (connectedToo || client.state !== clientState.CONNECTED) {
        client.close();
        this.#owned.delete(client);
      }
    }
  }

  /** The binding has no create2: the path alone, and whoever needs the czxid stats the node. */
  create(path: string, data: string, mode: CreateModeNumber): Promise<Created> {
    return this.#call<[string]>(path, (cb) => this.#calls.a_create(path, data, mode, cb)).then(
      ([created]) => ({ path: created, czxid: undefined }),
    );
  }

  list(path: string): Promise<[string[], ZkStat]> {
    return this.#call<[string[], BindingStat]>(path, (cb) =>
      this.#calls.a_get_children2(path, false, cb),
    ).then(([children, stat]) => [children, statOf(stat)]);
  }

  stat(path: string): Promise<ZkStat> {
    return this.#call<[BindingStat]>(path, (cb) => this.#calls.a_exists(path, false, cb)).then(([stat]) =>
      statOf(stat),
    );
  }

  sync(path: string): Promise<void> {
    return this.#call<[string]>(path, (cb) => this.#calls.a_sync(path, cb)).then(() => {});
  }

  read(path: string): Promise<[ZkStat, Buffer | string]> {
    return this.#call<[BindingStat, Buffer | string]>(path, (cb) => this.#calls.a_get(path, false, cb)).then(
      ([stat, data]) => [statOf(stat), data],
    );
  }

  delete(path: string): Promise<void> {
    return this.#call<[]>(path, (cb) => this.#calls.a_delete_(path, -1, cb)).then(() => {});
  }

  setData(path: string, data: string): Promise<void> {
    return this.#call<[BindingStat]>(path, (cb) => this.#calls.a_set(path, data, -1, cb)).then(() => {});
  }

  setAcl(path: string, acl: ZkAcl[]): Promise<void> {
    return this.#call<[]>(path, (cb) => this.#client.a_set_acl(path, -1, acl, cb)).then(() => {});
  }

  async watchData(path: string, onChange: OnChange): Promise<[ZkStat, Buffer | string]> {
    const watch = this.#oneShot(onChange);
    try {
      const [stat, data] = await this.#call<[BindingStat, Buffer | string]>(path, (cb) =>
        this.#calls.aw_get(path, watch, cb),
      );
      return [statOf(stat), data];
    } catch (error) {
      watch.drop();
      throw error;
    }
  }

  async watchChildren(path: string, onChange: OnChange): Promise<string[]> {
    const watch = this.#oneShot(onChange);
    try {
      const [children] = await this.#call<[string[], BindingStat]>(path, (cb) =>
        this.#calls.aw_get_children2(path, watch, cb),
      );
      return children;
    } catch (error) {
      watch.drop();
      throw error;
    }
  }

  async watchExists(path: string, onChange: OnChange): Promise<boolean> {
    const watch = this.#oneShot(onChange);
    try {
      await this.#call<[BindingStat]>(path, (cb) => this.#calls.aw_exists(path, watch, cb));
      return true;
    } catch (error) {
      // Unlike the other reads, exists() leaves its watch in place for a node that is not there.
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return false;
      watch.drop();
      throw error;
    }
  }

  /** The binding has no removeWatches: the watch stays until it fires or the session ends. */
  unwatchData(): void {}

  #call<T extends unknown[]>(path: string, send: (cb: Callback<T>) => number): Promise<T> {
    return new Promise((resolve, reject) => {
      const sent = send((code, message, ...result) => {
        if (code === rc.OK) return resolve(result);
        if (sessionOverCodes.has(code)) this.#unusable = true;
        reject(new ZkCallError(code, message, path));
      });
      if (typeof sent === "number" && sent !== rc.OK) {
        if (sessionOverCodes.has(sent)) this.#unusable = true;
        reject(new ZkCallError(sent, "a refusal to send", path));
      }
    });
  }

  /**
   * A watcher that calls `onChange` once, at the first change of the node itself, or when the
   * session moves to another client; `drop()` forgets it when the call that would have set it failed.
   */
  #oneShot(onChange: OnChange): Watcher & { drop(): void } {
    let fired = false;
    const fire = (deleted: boolean) => {
      if (fired) return;
      fired = true;
      this.#watchers.delete(fire);
      onChange(deleted);
    };
    this.#watchers.add(fire);
    // Session events reach node watchers too; only a change of the node itself matters here.
    const watcher: Watcher = (type) => {
      if (type !== SESSION_EVENT) fire(type === DELETED_EVENT);
    };
    return Object.assign(watcher, { drop: () => this.#watchers.delete(fire) });
  }

  #follow(client: ZooKeeperClient): void {
    const listeners: [string, (...args: unknown[]) => void][] = [
      ["connect", () => this.#onConnect(client)],
      ["connecting", () => client === this.#client && this.#disconnect()],
      ["close", (...[, code]) => this.#onClose(client, code)],
    ];
    for (const [event, listener] of listeners) client.on(event, listener);
    this.#listeners.set(client, listeners);
  }

  #unfollow(client: ZooKeeperClient): void {
    for (const [event, listener] of this.#listeners.get(client) ?? []) client.off(event, listener);
    this.#listeners.delete(client);
  }

  #onConnect(client: ZooKeeperClient): void {
    if (client !== this.#client || this.#over) return;
    this.#id = String(client.client_id);
    this.#password = String(client.client_password);
    this.#timeout = client.timeout;
    this.#rejoins = 0;
    this.#connected = true;
    this.#everConnected = true;
    if (this.#wakeWatchersOnConnect) {
      this.#wakeWatchersOnConnect = false;
      // The new client's server knew nothing of the watches: their waiters look again.
      for (const wake of [...this.#watchers]) wake(false);
    }
    this.emit("connected");
  }

  #disconnect(): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#disconnectedAt = performance.now();
    this.emit("disconnected");
  }

  #onClose(client: ZooKeeperClient, code: unknown): void {
    this.#unfollow(client);
    this.#owned.delete(client);
    if (client !== this.#client || this.#over) return;
    this.#unusable = true;
    const expired = code === closeCode.EXPIRED;
    // A rejoining client whose canary is still pending heard "expired" from a server.
    if (expired && !this.#canaryPending.has(client) && this.#mayRejoin()) {
      this.#disconnect();
      this.#scheduleRejoin();
      return;
    }
    this.#over = true;
    this.emit("over", expired ? "expired" : code === closeCode.AUTH_FAILED ? "authFailed" : "closed");
  }

  #mayRejoin(): boolean {
    const since = this.#connected ? performance.now() : this.#disconnectedAt;
    return (
      this.options.createClient !== undefined &&
      this.#everConnected &&
      performance.now() - since < Math.max(this.#timeout, 0)
    );
  }

  #scheduleRejoin(): void {
    // Not from inside the closing client's callback, and later each time: a false close repeats
    // at once for as long as its cause lasts.
    this.#rejoinTimer = setTimeout(() => this.#rejoin(), backoffDelay(++this.#rejoins));
  }

  #rejoin(): void {
    this.#rejoinTimer = undefined;
    if (this.#over) return;
    if (!this.#mayRejoin()) {
      this.#over = true;
      this.closeOwned({ connectedToo: false });
      this.emit("over", "timedOut");
      return;
    }
    let client: ZooKeeperClient;
    try {
      client = this.#start(
        this.options.createClient!({
          connect: this.options.connectString,
          timeout: this.#timeout,
          client_id: this.#id!,
          client_password: this.#password!,
          ...ownClientSettings,
        }),
      );
    } catch {
      this.#scheduleRejoin();
      return;
    }
    this.#client = client;
    this.#calls = client.native;
    this.#unusable = false;
    this.#wakeWatchersOnConnect = true;
    this.#sendCanary(client);
  }

  /** Starts a client of this session's own, with its authentication. */
  #start(client: ZooKeeperClient): ZooKeeperClient {
    this.#follow(client);
    try {
      startClient(client, this.options.auth, this.options.connectString);
    } catch (error) {
      this.#unfollow(client);
      throw error;
    }
    this.#owned.add(client);
    return client;
  }

  // A request queued before the rejoining client connects; a connection attempt that fails fails it
  // with a connection loss, and then it is sent again.
  #sendCanary(client: ZooKeeperClient): void {
    this.#canaryPending.add(client);
    const sent = client.native.a_exists("/", false, (code) => {
      this.#canaryPending.delete(client);
      if (isConnectionCode(code) && client === this.#client && !this.#over) this.#sendCanary(client);
    });
    if (sent !== rc.OK) this.#canaryPending.delete(client);
  }
}

/** The binding's stat as core reads it; its zxids (fencing tokens) must be exact. */
function statOf(stat: BindingStat): ZkStat {
  const inexact = [stat.czxid, stat.pzxid].find((zxid) => !Number.isSafeInteger(zxid));
  if (inexact !== undefined) {
    throw new LockError(
      "ZOOKEEPER",
      `ZooKeeper returned a zxid (${inexact}) beyond what the npm zookeeper binding reports exactly; @zk-dist-lock/client (the default of ZkLockManager.connect()) reads zxids exactly.`,
    );
  }
  return {
    czxid: BigInt(stat.czxid),
    pzxid: BigInt(stat.pzxid),
    ctime: new Date(stat.ctime),
    ephemeralOwner: stat.ephemeralOwner,
  };
}
