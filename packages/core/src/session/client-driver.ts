// @zk-dist-lock/client as a ZkDriver. The client keeps its session across servers by itself
// (reconnects, restored watches, its own expiry count), so this is a translation: its states to
// the driver's events, its stats and errors to the ones core reads, and removeWatches for waits
// that are given up.
import { EventEmitter } from "node:events";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import {
  type ClientState,
  type CreateMode,
  isZooKeeperError,
  type Stat,
  type StateChange,
  type Watcher,
  ZooKeeperClient,
} from "@zk-dist-lock/client";
import type { ConnectString } from "./connect-string.js";
import type { DriverFactory } from "./connection.js";
import {
  type Created,
  type CreateModeNumber,
  createMode,
  type DriverEvents,
  type OnChange,
  rc,
  type SessionEnd,
  type ZkAcl,
  type ZkAuth,
  ZkCallError,
  type ZkDriver,
  type ZkStat,
} from "./zk-client.js";

const modes: Record<CreateModeNumber, CreateMode> = {
  [createMode.PERSISTENT]: "persistent",
  [createMode.EPHEMERAL_SEQUENTIAL]: "ephemeralSequential",
  [createMode.CONTAINER]: "container",
};

/** The final states of a client of @zk-dist-lock/client, as the session ends they are. */
const ends: Partial<Record<ClientState, SessionEnd>> = {
  expired: "expired",
  authFailed: "authFailed",
  closed: "closed",
};

/** Whether a client of @zk-dist-lock/client in `state` is done for good (it never connects again). */
export const hasEnded = (state: ClientState): boolean => ends[state] !== undefined;

// The longest a timer can wait. A client the manager starts (its own, or one given to init()
// unstarted without a connectTimeout of the user's) keeps trying for its first session, as the
// binding's does: connect(), waitForConnection() and acquisitions bound the wait with their own
// timeouts, and the client's default of 15 s would otherwise close it for good.
const FOREVER_MS = 2_147_483_647;

/** Whether `value` is a client of @zk-dist-lock/client (by its shape, so two loaded copies agree). */
export function isTypeScriptClient(value: unknown): value is ZooKeeperClient {
  if (value instanceof ZooKeeperClient) return true;
  const client = value as Partial<ZooKeeperClient> | null;
  return (
    typeof client === "object" &&
    client !== null &&
    typeof client.getChildren === "function" &&
    typeof client.removeWatches === "function" &&
    typeof client.sessionIdHex === "string"
  );
}

/**
 * Opens sessions on new clients of @zk-dist-lock/client (for a manager from `connect()`), over TLS
 * with `tls` when given.
 */
export function clientDrivers(tls: TlsOptions | undefined): DriverFactory {
  return (connect, timeout, auth) =>
    new ClientDriver(startTypeScriptClient(connect, timeout, auth, tls), { ownsClient: true });
}

/** A client of @zk-dist-lock/client for `connect`, started: IPv6 addresses in brackets, as it reads them. */
function startTypeScriptClient(
  connect: ConnectString,
  timeout: number,
  auth: readonly ZkAuth[],
  tls: TlsOptions | undefined,
) {
  const client = new ZooKeeperClient(connect.bracketed, {
    sessionTimeout: timeout,
    tls,
    auth: auth.map(({ scheme, credentials }) => ({ scheme, auth: credentials })),
  });
  startQuietly(client);
  return client;
}

/**
 * Starts `client`, trying until there is a session unless the client's own `connectTimeout` says
 * otherwise; how the start ends, the driver hears as a state.
 */
export function startQuietly(client: ZooKeeperClient): void {
  client.start({ defaultConnectTimeout: FOREVER_MS }).catch(() => {});
}

/** One session on a client of @zk-dist-lock/client. */
export class ClientDriver extends EventEmitter<DriverEvents> implements ZkDriver {
  #owns: boolean;
  /** The watchers given to `watchData`, by their `onChange`, for `unwatchData`. */
  readonly #dataWatchers = new Map<OnChange, Watcher>();
  readonly #onState = (state: ClientState, { assumed }: StateChange) => {
    if (state === "connected") this.emit("connected");
    else if (state === "disconnected") this.emit("disconnected");
    else {
      // Counted as expired without a server's word: what the binding's driver calls a session
      // timed out, and so the reason the holds hear is the same on both clients.
      const end = assumed ? "timedOut" : ends[state];
      if (end) this.emit("over", end);
    }
  };

  constructor(
    readonly client: ZooKeeperClient,
    { ownsClient }: { ownsClient: boolean },
  ) {
    super();
    this.#owns = ownsClient;
    client.on("state", this.#onState);
  }

  get connected(): boolean {
    return this.client.state === "connected";
  }

  get usable(): boolean {
    return true;
  }

  get sessionId(): string {
    return hex(this.client.sessionId);
  }

  get timeout(): number {
    return this.client.negotiatedTimeout;
  }

  get connectionFailures(): string | undefined {
    return this.client.connectionFailures;
  }

  get ownsClient(): boolean {
    return this.#owns;
  }

  /** The client reconnects by itself until it counts the session as expired (4/3 of its timeout). */
  keepsTrying(): boolean {
    return true;
  }

  detach(): void {
    this.client.off("state", this.#onState);
  }

  closeOwned({ connectedToo = true } = {}): void {
    if (!this.#owns || (!connectedToo && this.connected)) return;
    this.#owns = false;
    this.client.close().catch(() => {});
  }

  /** create2: the stat, and so the czxid, comes with the answer. */
  create(path: string, data: string, mode: CreateModeNumber): Promise<Created> {
    return this.#send(path, () =>
      this.client
        .create(path, data, { mode: modes[mode] })
        .then(({ path, stat }) => ({ path, czxid: stat.czxid })),
    );
  }

  list(path: string): Promise<[string[], ZkStat]> {
    return this.#send(path, () =>
      this.client.getChildren(path).then(({ children, stat }) => [children, statOf(stat)]),
    );
  }

  stat(path: string): Promise<ZkStat> {
    return this.#send(path, () =>
      this.client.exists(path).then((stat) => {
        if (stat === null) throw new ZkCallError(rc.NONODE, "NONODE", path);
        return statOf(stat);
      }),
    );
  }

  sync(path: string): Promise<void> {
    return this.#send(path, () => this.client.sync(path));
  }

  read(path: string): Promise<[ZkStat, Buffer]> {
    return this.#send(path, () => this.client.getData(path).then(({ data, stat }) => [statOf(stat), data]));
  }

  delete(path: string): Promise<void> {
    return this.#send(path, () => this.client.delete(path));
  }

  setData(path: string, data: string): Promise<void> {
    return this.#send(path, () => this.client.setData(path, data).then(() => {}));
  }

  setAcl(path: string, acl: ZkAcl[]): Promise<void> {
    const entries = acl.map(({ perms, scheme, auth }) => ({ perms, scheme, id: auth }));
    return this.#send(path, () => this.client.setACL(path, entries).then(() => {}));
  }

  watchData(path: string, onChange: OnChange): Promise<[ZkStat, Buffer]> {
    const watcher = this.#watcher(onChange);
    return this.#send(path, () => {
      this.#dataWatchers.set(onChange, watcher);
      return this.client.getData(path, { watcher }).then(
        ({ data, stat }): [ZkStat, Buffer] => [statOf(stat), data],
        (error: unknown) => {
          this.#dataWatchers.delete(onChange);
          throw error;
        },
      );
    });
  }

  watchChildren(path: string, onChange: OnChange): Promise<string[]> {
    return this.#send(path, () =>
      this.client.getChildren(path, { watcher: this.#watcher(onChange) }).then(({ children }) => children),
    );
  }

  watchExists(path: string, onChange: OnChange): Promise<boolean> {
    return this.#send(path, () =>
      this.client.exists(path, { watcher: this.#watcher(onChange) }).then((stat) => stat !== null),
    );
  }

  #send<T>(path: string, call: () => Promise<T>): Promise<T> {
    if (waiting.has(this.client.state))
      return Promise.reject(new ZkCallError(rc.CONNECTIONLOSS, "CONNECTIONLOSS (not connected)", path));
    return translate(path, call());
  }

  unwatchData(path: string, onChange: OnChange): void {
    const watcher = this.#dataWatchers.get(onChange);
    if (!watcher) return;
    this.#dataWatchers.delete(onChange);
    // Fails when the watch fired meanwhile (NOWATCHER) or the session ended: nothing left to remove.
    this.client.removeWatches(path, { type: "data", watcher }).catch(() => {});
  }

  /** Calls `onChange` for an event of the node; not for the removal that `unwatchData` makes. */
  #watcher(onChange: OnChange): Watcher {
    return ({ type }) => {
      if (type.endsWith("Removed")) return;
      this.#dataWatchers.delete(onChange);
      onChange(type === "deleted");
    };
  }
}

/** A session id as the binding prints it: lower-case hex, no `0x`, no padding. */
const hex = (id: bigint) => BigInt.asUintN(64, id).toString(16);

const statOf = (stat: Stat): ZkStat => new ClientStat(stat);

/**
 * The client's stat as core reads it. The date and the owner's hex are made when read: every
 * listing of every cycle comes with a stat, and the queue reads only its pzxid.
 */
class ClientStat implements ZkStat {
  readonly czxid: bigint;
  readonly pzxid: bigint;
  readonly #stat: Stat;

  constructor(stat: Stat) {
    this.czxid = stat.czxid;
    this.pzxid = stat.pzxid;
    this.#stat = stat;
  }

  get ctime(): Date {
    return new Date(Number(this.#stat.ctime));
  }

  get ephemeralOwner(): string {
    return hex(this.#stat.ephemeralOwner);
  }
}

/** The call's outcome, with a failure as the {@link ZkCallError} of its result code. */
function translate<T>(path: string, call: Promise<T>): Promise<T> {
  return call.catch((error: unknown) => {
    if (isZooKeeperError(error)) throw new ZkCallError(error.rc, error.code, path, error);
    throw error;
  });
}

// The client keeps a request made without a connection until the next one; core wants what the
// binding does: such a call fails at once as a connection loss, and its caller waits for the
// connection on its own terms (its timeout, its signal). Once the session is over, the client
// itself refuses with the reason.
const waiting = new Set<ClientState>(["connecting", "disconnected"]);
