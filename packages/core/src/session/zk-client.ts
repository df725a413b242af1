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
export const CONNECTED_STATE = 3;
export const SESSION_EVENT = -1;

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
}

/**
 * The part of a client of the npm `zookeeper` package that zk-dist-lock uses, typed as it behaves at
 * run time (the package's own declarations type result messages and the session id as numbers).
 */
export interface ZooKeeperClient {
  readonly state: number;
  readonly timeout: number;
  /** The session id, in hex (typed as a number by the package, but a string at run time). */
  readonly client_id: string | number;
  readonly native: NativeCalls;
  init(config: object): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Through the wrapper, which converts the ACL entries to the binding's form. */
  a_set_acl(path: string, version: number, acl: ZkAcl[], cb: Callback<[]>): number;
}

const clientMethods = ["init", "on", "off", "a_set_acl"] as const;
const nativeMethods = [
  "a_create",
  "a_get_children2",
  "aw_get",
  "aw_get_children2",
  "aw_exists",
  "a_get",
  "a_exists",
  "a_delete_",
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

// The session has ended or is ending. The client fails pending calls with CLOSING or SESSIONEXPIRED,
// and refuses new ones with INVALIDSTATE, before it emits "close" (which a detached session never
// hears: manager.close(), then client.close()), so these codes count even before "close".
const sessionOverCodes = new Set<number>([rc.INVALIDSTATE, rc.CLOSING, rc.SESSIONEXPIRED]);
// A deletion that fails with one of these is done: the node is gone, or the session ends and takes
// its ephemeral nodes along.
export const sessionEndCodes = new Set<number>([rc.NONODE, ...sessionOverCodes]);

/** The call may or may not have taken effect; it is worth retrying once the session is connected. */
export const isConnectionCode = (code: number) => code === rc.CONNECTIONLOSS || code === rc.OPERATIONTIMEOUT;
