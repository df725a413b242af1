// The npm `zookeeper` client as zk-dist-lock uses it: result codes, the calls, and their errors.
import { LockError, LockInvalidArgumentError } from "../errors.js";
import { describe } from "../resource-name.js";

/** ZooKeeper result codes and flags used here (stable parts of the wire protocol). */
export const rc = {
  OK: 0,
  CONNECTIONLOSS: -4,
  OPERATIONTIMEOUT: -7,
  INVALIDSTATE: -9,
  NONODE: -101,
  NOAUTH: -102,
  NODEEXISTS: -110,
  SESSIONEXPIRED: -112,
  CLOSING: -116,
} as const;
export const createMode = { PERSISTENT: 0, EPHEMERAL_SEQUENTIAL: 3, CONTAINER: 4 } as const;
/** `client.state` values (the C client's `ZOO_*_STATE`). */
export const clientState = {
  CONNECTED: 3,
  /** Set by the C client's init, left so by a handle the binding had already closed: it never connects. */
  NOT_CONNECTED: 999,
} as const;
export const SESSION_EVENT = -1;
/** The code of a client's `close` event (the C client's state): 0 when closed by a call of close(). */
export const closeCode = { EXPIRED: -112, AUTH_FAILED: -113 } as const;

/** Authentication a client adds with `add_auth(scheme, credentials)`, such as `digest` `user:password`. */
export interface ZkAuth {
  scheme: string;
  credentials: string;
}

/** A ZooKeeper ACL entry, as the `zookeeper` package takes it. */
export interface ZkAcl {
  perms: number;
  scheme: string;
  auth: string;
}

export interface ZkStat {
  czxid: number;
  pzxid: number;
  ctime: Date | number;
  ephemeralOwner: string;
}

export type Callback<T extends unknown[]> = (code: number, message: string, ...result: T) => void;
export type Watcher = (type: number, state: number, path: string) => void;

/**
 * The calls of the native binding behind a client of the npm `zookeeper` package. They are the
 * wrapper's calls without its logging, which formats every call's arguments with `util.inspect`
 * even when no logger is set: about a fifth of an uncontended lock cycle's CPU time.
 */
export interface NativeCalls {
  a_create(path: string, data: string | Buffer, flags: number, cb: Callback<[string]>): number;
  a_get_children2(path: string, watch: boolean, cb: Callback<[string[], ZkStat]>): number;
  aw_get(path: string, watcher: Watcher, cb: Callback<[ZkStat, Buffer | string]>): number;
  aw_get_children2(path: string, watcher: Watcher, cb: Callback<[string[], ZkStat]>): number;
  aw_exists(path: string, watcher: Watcher, cb: Callback<[ZkStat]>): number;
  a_get(path: string, watch: boolean, cb: Callback<[ZkStat, Buffer | string]>): number;
  a_exists(path: string, watch: boolean, cb: Callback<[ZkStat]>): number;
  a_delete_(path: string, version: number, cb: Callback<[]>): number;
  a_set(path: string, data: string | Buffer, version: number, cb: Callback<[ZkStat]>): number;
  add_auth(scheme: string, credentials: string, cb: Callback<[]>): number;
}

/**
 * The part of a client of the npm `zookeeper` package that zk-dist-lock uses, typed as it behaves at
 * run time (the package's own declarations type result messages and the session id as numbers).
 */
export interface ZooKeeperClient {
  readonly state: number;
  /** The negotiated session timeout in ms; -1 before the client was started and once it is closed. */
  readonly timeout: number;
  /** The session id, in hex (typed as a number by the package, but a string at run time). */
  readonly client_id: string | number;
  /** The session password, 32 hex digits: with the id, what a new client needs to rejoin the session. */
  readonly client_password: string;
  /** What the constructor was given (`connect`, `timeout`, …), which the package keeps. */
  readonly config?: Readonly<Record<string, unknown>> | undefined;
  readonly native: NativeCalls;
  /** Starts the client; the constructor's settings win over these. */
  init(config: object): unknown;
  /** Ends the session when connected (sending the server a close), else only drops the client. */
  close(): unknown;
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
 * (reported as -112), which the manager sees and answers by rejoining the session with a fresh
 * client, whereas a higher limit only turns that close into a spin that nothing reports.
 */
export const ownClientSettings = { response_counter_limit: 10 } as const;

const clientMethods = ["init", "close", "on", "off", "a_set_acl"] as const;
const nativeMethods = [
  "a_create",
  "a_get_children2",
  "aw_get",
  "aw_get_children2",
  "aw_exists",
  "a_get",
  "a_exists",
  "a_delete_",
  "a_set",
  "add_auth",
] as const;

export function assertClient(value: unknown): asserts value is ZooKeeperClient {
  const functionsOf = (object: unknown, names: readonly string[], prefix = "") =>
    names
      .filter((m) => typeof (object as Record<string, unknown> | null)?.[m] !== "function")
      .map((m) => prefix + m);
  const missing = [
    ...functionsOf(value, clientMethods),
    ...functionsOf((value as { native?: unknown } | null)?.native, nativeMethods, "native."),
  ];
  if (missing.length > 0) {
    throw new LockInvalidArgumentError(
      `init() needs a client of the npm "zookeeper" package (new ZooKeeper({ connect, timeout })); got ${describe(value)} without ${missing.join(", ")}.`,
    );
  }
}

/**
 * Starts a client that is configured but not started, with the manager's settings (the
 * constructor's win), and adds `auth`. Throws `INVALID_ARGUMENT` when the binding cannot start it:
 * a connect string none of whose hosts resolves, or a client that had been closed.
 */
export function startClient(client: ZooKeeperClient, auth: readonly ZkAuth[], connect: string): void {
  client.init({ ...ownClientSettings });
  if (client.timeout === -1) {
    throw new LockInvalidArgumentError(
      `The zookeeper client could not start with connect string ${describe(connect)}: none of its hosts resolves to an address.`,
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

/** A failed ZooKeeper call, with the server's or client's result code. */
export class ZkCallError extends LockError {
  constructor(
    readonly rc: number,
    message: string,
    readonly path: string,
  ) {
    super(
      isConnectionCode(rc) || sessionOverCodes.has(rc) ? "CONNECTION" : "ZOOKEEPER",
      `ZooKeeper answered ${message} (${rc}) for ${path}.`,
    );
  }
}

// The client has ended or is ending. It fails pending calls with CLOSING or SESSIONEXPIRED, and
// refuses new ones with INVALIDSTATE, before it emits "close" (which a detached session never hears:
// manager.close(), then client.close()). Whether the session ended with it, the session decides.
export const sessionOverCodes = new Set<number>([rc.INVALIDSTATE, rc.CLOSING, rc.SESSIONEXPIRED]);
// A deletion that fails with one of these is done: the node is gone, or the session ends and takes
// its ephemeral nodes along.
export const sessionEndCodes = new Set<number>([rc.NONODE, ...sessionOverCodes]);

/** The call may or may not have taken effect; it is worth retrying once the session is connected. */
export const isConnectionCode = (code: number) => code === rc.CONNECTIONLOSS || code === rc.OPERATIONTIMEOUT;
