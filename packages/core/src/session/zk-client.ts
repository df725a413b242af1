// ZooKeeper as core's session layer sees it, whichever client is underneath: the result codes, the
// calls, their errors, and the one interface (ZkDriver) that both clients are driven through —
// the npm `zookeeper` binding (binding-driver.ts) and @zk-dist-lock/client (client-driver.ts).
import type { EventEmitter } from "node:events";
import { LockError } from "../errors.js";

/** ZooKeeper result codes used here (stable parts of the wire protocol; both clients use them). */
export const rc = {
  OK: 0,
  CONNECTIONLOSS: -4,
  OPERATIONTIMEOUT: -7,
  INVALIDSTATE: -9,
  NONODE: -101,
  NOAUTH: -102,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  AUTHFAILED: -115,
  CLOSING: -116,
} as const;
export const createMode = { PERSISTENT: 0, EPHEMERAL_SEQUENTIAL: 3, CONTAINER: 4 } as const;
export type CreateModeNumber = (typeof createMode)[keyof typeof createMode];

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

/** What core reads of a node's stat, the same from both clients. */
export interface ZkStat {
  czxid: bigint;
  pzxid: bigint;
  ctime: Date;
  /** The session that owns an ephemeral node, in hex as `ZkDriver.sessionId` writes it; "0" for none. */
  ephemeralOwner: string;
}

/** What a create answers: the node's path, and its creation zxid where the client's create carries it. */
export interface Created {
  path: string;
  /** From `create2`'s stat (@zk-dist-lock/client); undefined from the binding, whose create has none. */
  czxid: bigint | undefined;
}

/**
 * Called once by a one-shot watch: `deleted` when it saw its node deleted; false for any other
 * change, and when the driver moved the session to another client (which says nothing of the node).
 */
export type OnChange = (deleted: boolean) => void;

/**
 * How a session ended, as its driver saw it: expired (the server said so, or the client counts it
 * so), the credentials refused, the client closed, or `timedOut`: the driver only tried to get it
 * back (see `keepsTrying`) and the session timeout has passed.
 */
export type SessionEnd = "expired" | "authFailed" | "closed" | "timedOut";

export interface DriverEvents {
  /** A server serves the session: for the first time, or again after `disconnected`. */
  connected: [];
  /** The connection is gone; the session may live on, and the client tries to get it back. */
  disconnected: [];
  /** The session is over for good. */
  over: [end: SessionEnd];
}

/**
 * One ZooKeeper session as core drives it, over one of the two clients. A driver turns the
 * client's calls into promises that reject with a {@link ZkCallError} (the result code is what
 * callers branch on), and its life into three events. What one client needs and the other does not
 * (the binding's self-closing clients, rejoined with fresh ones) stays inside its driver.
 *
 * One-shot watchers are called once, for a change of the node itself; watches survive the
 * client's reconnects (or, where the driver had to move the session to another client, they fire
 * once connected there, so that their waiters look again).
 */
export interface ZkDriver extends EventEmitter<DriverEvents> {
  /** The client the session runs on now, as the user knows it (`manager.client`). */
  readonly client: unknown;
  /** Whether a server serves the session now. */
  readonly connected: boolean;
  /**
   * Whether calls may be sent: false once the current client is closing under a session that may
   * live on (the binding's), until the driver has another one.
   */
  readonly usable: boolean;
  /** The session id in lower-case hex without `0x` (as the binding prints it); "0" before the first session. */
  readonly sessionId: string;
  /** The negotiated session timeout in ms. */
  readonly timeout: number;
  /** What the client says of its failed connection attempts, if it says anything (for outage messages). */
  readonly connectionFailures: string | undefined;
  /** Whether the current client is the driver's own, closed with the session. */
  readonly ownsClient: boolean;
  /**
   * Asked once the session has been without a connection for its timeout: whether the client may
   * yet get it back by itself (true), or only tried to and the session is to be given up.
   */
  keepsTrying(): boolean;
  create(path: string, data: string, mode: CreateModeNumber): Promise<Created>;
  list(path: string): Promise<[string[], ZkStat]>;
  stat(path: string): Promise<ZkStat>;
  /**
   * Waits until the server serving the session has applied every write the leader committed before
   * the sync reached it (ZooKeeper's `sync`); requests sent after it are answered after it.
   */
  sync(path: string): Promise<void>;
  read(path: string): Promise<[ZkStat, Buffer | string]>;
  delete(path: string): Promise<void>;
  /** Writes a node's data, any version. */
  setData(path: string, data: string): Promise<void>;
  setAcl(path: string, acl: ZkAcl[]): Promise<void>;
  /** getData with a watch; NONODE rejects and sets none. */
  watchData(path: string, onChange: OnChange): Promise<[ZkStat, Buffer | string]>;
  /** getChildren with a watch; NONODE rejects and sets none. */
  watchChildren(path: string, onChange: OnChange): Promise<string[]>;
  /** exists with a watch, which stays on a node that does not exist; resolves whether it does. */
  watchExists(path: string, onChange: OnChange): Promise<boolean>;
  /**
   * Forgets a data watch that `watchData` set with `onChange`, at the server too where the client
   * can (`removeWatches`), so that an abandoned wait leaves nothing on a hot node. Never rejects.
   * The server keeps one watch per path and session for all of its waits there: it stays while
   * another wait of the session watches the path, or has a `watchData` of it unanswered.
   */
  unwatchData(path: string, onChange: OnChange): void;
  /** Stops following the client(s): no more events. */
  detach(): void;
  /** Closes the clients the driver owns (`connectedToo: false` leaves a connected one open). */
  closeOwned(options?: { connectedToo?: boolean }): void;
}

/** A failed ZooKeeper call, with the server's or client's result code. */
export class ZkCallError extends LockError {
  /** `cause`: the client's own error, whose words (the server's, the reason) the message keeps. */
  constructor(
    readonly rc: number,
    message: string,
    readonly path: string,
    cause?: Error,
  ) {
    super(
      isConnectionCode(rc) || sessionOverCodes.has(rc) ? "CONNECTION" : "ZOOKEEPER",
      `ZooKeeper answered ${message} (${rc}) for ${path}${cause ? `: ${cause.message.replace(/\.$/, "")}` : ""}.`,
      { cause },
    );
  }
}

// The client has ended or is ending. It fails pending calls with CLOSING, SESSIONEXPIRED or
// AUTHFAILED, and refuses new ones with INVALIDSTATE (the binding) or with those same codes (ours),
// even before it reports its end, which a detached session never hears (manager.close(), then
// client.close()). Whether the session ended with it, the session decides.
export const sessionOverCodes = new Set<number>([
  rc.INVALIDSTATE,
  rc.CLOSING,
  rc.SESSIONEXPIRED,
  rc.AUTHFAILED,
]);
// A deletion that fails with one of these is done: the node is gone, or the session ends and takes
// its ephemeral nodes along.
export const sessionEndCodes = new Set<number>([rc.NONODE, ...sessionOverCodes]);

/** The call may or may not have taken effect; it is worth retrying once the session is connected. */
export const isConnectionCode = (code: number) => code === rc.CONNECTIONLOSS || code === rc.OPERATIONTIMEOUT;
