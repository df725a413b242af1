// The client: one ZooKeeper session over a succession of connections, and the operations on it.
import { EventEmitter } from "node:events";
import {
  type ConnectString,
  formatServer,
  parseConnectString,
  type ServerAddress,
} from "./connect-string.js";
import { Connection, type ConnectionHandler, type Request } from "./connection.js";
import { badArgument, resultCodes, ZooKeeperError } from "./errors.js";
import type { JuteReader } from "./jute.js";
import {
  type CreateOptions,
  type CreateResult,
  type Data,
  type MultiOp,
  type MultiResult,
  prepareMulti,
  prepareOp,
  readCreated,
  readMulti,
  toBytes,
  validateAcl,
  validateVersion,
  writeMulti,
} from "./operations.js";
import {
  connectTimeoutOf,
  type ResolvedOptions,
  resolveOptions,
  type StartOptions,
  type ZooKeeperClientOptions,
} from "./options.js";
import { describeValue, validatePath } from "./paths.js";
import {
  type Acl,
  encodeRequest,
  OpCode,
  readAcls,
  readStat,
  readStrings,
  type Stat,
  writeAcls,
  Xid,
} from "./protocol.js";
import {
  serverEventTypes,
  type WatchEventType,
  type Watcher,
  type WatchKind,
  WatchRegistry,
} from "./watches.js";

/**
 * Where the session stands. `connecting`: before the first session. `connected`: a server serves
 * it. `disconnected`: the connection is gone and the client is reconnecting; the session (its
 * ephemeral nodes, its watches) may well live on. The rest are final: `expired` (the server said
 * so, or no server was heard from for 4/3 of the session timeout, as the Java client counts),
 * `authFailed` (the server refused the credentials) and `closed`.
 */
export type ClientState = "connecting" | "connected" | "disconnected" | "expired" | "authFailed" | "closed";

/** The details of a `state` event. */
export interface StateChange {
  previous: ClientState;
  /** The server connected to (`connected`) or the one whose connection ended (`disconnected`). */
  server: string | undefined;
  /** Why the connection or session ended, for every state but `connected`. */
  error: ZooKeeperError | undefined;
  /**
   * For `expired`: true when the client counts the session as expired itself (no server answered
   * for 4/3 of its timeout), false when a server said so.
   */
  assumed: boolean;
}

/** The events of a {@link ZooKeeperClient}. */
export interface ClientEvents {
  state: [state: ClientState, change: StateChange];
}

/** Options of the reads that can leave a one-shot watch. */
export interface WatchOptions {
  /** Called once, with the next event of the node (or of its children, for `getChildren`). */
  watcher?: Watcher;
}

/** What `removeWatches()` removes; `any` (the default) is every kind. */
export type RemoveWatchesType = "data" | "children" | "persistent" | "persistentRecursive" | "any";

// removeWatches: the server's WatcherType numbers, and the client's kinds each covers.
const removeTypes: Record<RemoveWatchesType, { server: number; kinds: WatchKind[] }> = {
  children: { server: 1, kinds: ["child"] },
  data: { server: 2, kinds: ["data", "exist"] },
  any: { server: 3, kinds: ["data", "exist", "child", "persistent", "persistentRecursive"] },
  persistent: { server: 4, kinds: ["persistent"] },
  persistentRecursive: { server: 5, kinds: ["persistentRecursive"] },
};
// Server-side, one watch per path serves each of these groups of client kinds.
const serverWatchGroups: { server: number; kinds: WatchKind[] }[] = [
  removeTypes.data,
  removeTypes.children,
  removeTypes.persistent,
  removeTypes.persistentRecursive,
];
const removedEventOf: Record<WatchKind, WatchEventType> = {
  data: "dataWatchRemoved",
  exist: "dataWatchRemoved",
  child: "childWatchRemoved",
  persistent: "persistentWatchRemoved",
  persistentRecursive: "persistentWatchRemoved",
};

// setWatches carries at most about this many characters of paths per request, as the Java client
// batches them, so that thousands of watches never make a frame the server refuses.
const SET_WATCHES_BATCH_CHARS = 128 * 1024;

/** Credentials sent on every connection, and the callers waiting for the first answer. */
interface AuthEntry {
  scheme: string;
  frame: Buffer;
  answered: boolean;
  /** Settles with the first answer; the failure also reaches anyone who awaits it. */
  promise: Promise<void>;
  resolve(): void;
  reject(error: ZooKeeperError): void;
}

/**
 * A ZooKeeper client in TypeScript. One instance is one session: it connects to the servers of its
 * connect string in random order, keeps the session alive with pings, moves it to another server
 * when its server fails (within the session timeout, watches restored), and reports where it stands
 * with `state` events. Requests made while it reconnects wait for the next connection; a request
 * in flight when a connection drops fails with `CONNECTIONLOSS` (it may or may not have applied).
 *
 * @example
 * ```ts
 * const zk = await ZooKeeperClient.connect("127.0.0.1:2181/app", { sessionTimeout: 10_000 });
 * zk.on("state", (state) => console.log("ZooKeeper session:", state));
 * const { path, stat } = await zk.create("/jobs/job-", "payload", { mode: "ephemeralSequential" });
 * const { children } = await zk.getChildren("/jobs", { watcher: (event) => console.log(event) });
 * await zk.close();
 * ```
 */
export class ZooKeeperClient extends EventEmitter<ClientEvents> {
  /** The connect string given, as given. */
  readonly connectString: string;
  readonly #parsed: ConnectString;
  readonly #options: ResolvedOptions;
  /** The servers in the (shuffled) order they are tried, and the next one's index. */
  readonly #servers: ServerAddress[];
  #nextServer = 0;
  #state: ClientState = "connecting";
  #connection: Connection | undefined;
  /** Requests waiting for a connection. */
  readonly #queue: Request[] = [];
  #sessionId = 0n;
  #password: Buffer = Buffer.alloc(16);
  #negotiatedTimeout = 0;
  #lastZxid = 0n;
  readonly #watches = new WatchRegistry();
  readonly #auth: AuthEntry[] = [];
  /** The auth packets sent on the current connection, in order, awaiting their answers. */
  #authInFlight: AuthEntry[] = [];
  /** The last failure per server, for the error of a connect that times out. */
  readonly #attemptErrors = new Map<string, string>();
  #expiryTimer: NodeJS.Timeout | undefined;
  /** Why the session is over, once it is. */
  #end: ZooKeeperError | undefined;
  #closeRequested: ZooKeeperError | undefined;
  readonly #stop = new AbortController();
  #started: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #firstSession: { resolve(): void; reject(error: ZooKeeperError): void } | undefined;

  /**
   * A client for `connectString` (`"host1:2181,host2:2181/chroot"`). It checks its arguments and
   * throws `BADARGUMENTS` for bad ones, but does no I/O until {@link start}.
   */
  constructor(connectString: string, options?: ZooKeeperClientOptions) {
    super();
    this.#parsed = parseConnectString(connectString);
    this.#options = resolveOptions(options);
    this.connectString = connectString;
    this.#servers = shuffle(this.#parsed.servers);
    if (this.#options.session) {
      this.#sessionId = this.#options.session.id;
      this.#password = this.#options.session.password;
    }
    for (const { scheme, auth } of this.#options.auth) this.#addAuthEntry(scheme, auth);
  }

  /**
   * Creates a client and waits for its session (and for the `auth` credentials to be accepted).
   * Rejects with `BADARGUMENTS` before any I/O for a malformed connect string or options, and with
   * `OPERATIONTIMEOUT`, naming the connect string and each server's last failure, when there is no
   * session within `connectTimeout`.
   *
   * @example
   * ```ts
   * const zk = await ZooKeeperClient.connect("zk1:2181,zk2:2181,zk3:2181", {
   *   sessionTimeout: 10_000,
   *   connectTimeout: 5_000,
   *   auth: [{ scheme: "digest", auth: "app:secret" }],
   * });
   * ```
   */
  static async connect(connectString: string, options?: ZooKeeperClientOptions): Promise<ZooKeeperClient> {
    const client = new ZooKeeperClient(connectString, options);
    await client.start();
    return client;
  }

  /**
   * Starts connecting, and resolves once there is a session (and the `auth` credentials were
   * accepted). On failure the client is closed: `OPERATIONTIMEOUT` after `connectTimeout`,
   * `SESSIONEXPIRED` when the session to rejoin is gone, `AUTHFAILED`, or `CLOSING` when
   * {@link close} came first. Calling it again returns the same promise (and ignores `options`).
   * Throws `BADARGUMENTS` for malformed `options`.
   *
   * @example
   * ```ts
   * const zk = new ZooKeeperClient("zk1:2181");
   * await zk.start({ defaultConnectTimeout: 60_000 }); // unless the client set connectTimeout
   * ```
   */
  start(options?: StartOptions): Promise<void> {
    if (this.#started) return this.#started;
    const timeout = connectTimeoutOf(this.#options, options);
    this.#started = this.#begin(timeout);
    return this.#started;
  }

  get state(): ClientState {
    return this.#state;
  }

  /**
   * Why the servers did not serve a session lately: each server's last connection failure since
   * the last session began, as `server: message` joined by `; `, or undefined when there was none.
   * For an application's own word on an outage (a wrong CA, a refused port) while it waits.
   */
  get connectionFailures(): string | undefined {
    return this.#attemptErrors.size === 0 ? undefined : this.#describeAttempts();
  }

  /** Whether {@link start} (or {@link connect}) was called: a client not started does no I/O. */
  get started(): boolean {
    return this.#started !== undefined;
  }

  /** The session id, 0n before the first session. */
  get sessionId(): bigint {
    return this.#sessionId;
  }

  /** The session id as ZooKeeper logs print it: `0x` and lower-case hex. */
  get sessionIdHex(): string {
    return `0x${BigInt.asUintN(64, this.#sessionId).toString(16)}`;
  }

  /** The session password (a copy): with {@link sessionId}, what another client needs to rejoin the session. */
  get sessionPassword(): Buffer {
    return Buffer.from(this.#password);
  }

  /** The session timeout the server granted, in ms (0 before the first session). */
  get negotiatedTimeout(): number {
    return this.#negotiatedTimeout;
  }

  /** The server the client is connected to (`host:port`), if it is. */
  get server(): string | undefined {
    return this.#state === "connected" ? this.#connection?.server : undefined;
  }

  /** The newest zxid the client has seen in a reply; a new server must have seen it too. */
  get lastZxid(): bigint {
    return this.#lastZxid;
  }

  /**
   * Creates a node and returns its path (with the sequence number of a sequential node) and stat.
   * Uses ZooKeeper's create2 (or createContainer / createTTL), so the stat, and with it the
   * creation zxid, comes with the answer.
   *
   * @example
   * ```ts
   * const { path, stat } = await zk.create("/locks/lock-", "", { mode: "ephemeralSequential" });
   * console.log(path, stat.czxid); // "/locks/lock-0000000007", 4294967302n
   * ```
   */
  create(path: string, data?: Data, options?: CreateOptions): Promise<CreateResult> {
    if (options !== undefined && (typeof options !== "object" || options === null)) {
      throw badArgument(`create() options must be an object; got ${describeValue(options)}.`, path);
    }
    const frame = this.#encode({ ...options, type: "create", path, data }, "create()");
    return this.#call(`create ${path}`, path, frame, (reader) => readCreated(reader, this.#toClient));
  }

  /** Deletes a node; with `version` (default -1: any), only if the node has that version. */
  delete(path: string, version = -1): Promise<void> {
    const frame = this.#encode({ type: "delete", path, version }, "delete()");
    return this.#call(`delete ${path}`, path, frame, () => undefined);
  }

  /**
   * The node's stat, or null when it does not exist. A `watcher` hears of the node's creation,
   * deletion or next data change, whichever comes first.
   */
  exists(path: string, options?: WatchOptions): Promise<Stat | null> {
    validatePath(path);
    const watcher = watcherOf(options);
    const frame = encodeRequest(OpCode.exists, (w) =>
      w.string(this.#toServer(path)).bool(watcher !== undefined),
    );
    // Counted as a data watch on its way: whichever kind it becomes, the server keeps both in one.
    return this.#watching(watcher && "data", path, () =>
      this.#request(`exists ${path}`, path, frame, (rc, reader) => {
        if (rc === resultCodes.NONODE) {
          if (watcher) this.#watches.add("exist", path, watcher);
          return null;
        }
        if (rc !== 0) return ZooKeeperError.fromResult(rc, "exists", path);
        const stat = readStat(reader);
        if (watcher) this.#watches.add("data", path, watcher);
        return stat;
      }),
    );
  }

  /** The node's data and stat. A `watcher` hears of its next data change or its deletion. */
  getData(path: string, options?: WatchOptions): Promise<{ data: Buffer; stat: Stat }> {
    validatePath(path);
    const watcher = watcherOf(options);
    const frame = encodeRequest(OpCode.getData, (w) =>
      w.string(this.#toServer(path)).bool(watcher !== undefined),
    );
    return this.#watching(watcher && "data", path, () =>
      this.#call(`getData ${path}`, path, frame, (reader) => {
        // A copy: the reply's frame may be a slice of a larger socket chunk.
        const result = { data: Buffer.from(reader.buffer("data")), stat: readStat(reader) };
        if (watcher) this.#watches.add("data", path, watcher);
        return result;
      }),
    );
  }

  /** Sets the node's data; with `version` (default -1: any), only if it has that version. */
  setData(path: string, data: Data, version = -1): Promise<Stat> {
    const frame = this.#encode({ type: "setData", path, data, version }, "setData()");
    return this.#call(`setData ${path}`, path, frame, readStat);
  }

  /**
   * The names of the node's children (unordered) and its stat. A `watcher` hears of the next
   * change of the list of children, or of the node's deletion.
   */
  getChildren(path: string, options?: WatchOptions): Promise<{ children: string[]; stat: Stat }> {
    validatePath(path);
    const watcher = watcherOf(options);
    const frame = encodeRequest(OpCode.getChildren2, (w) =>
      w.string(this.#toServer(path)).bool(watcher !== undefined),
    );
    return this.#watching(watcher && "child", path, () =>
      this.#call(`getChildren ${path}`, path, frame, (reader) => {
        const result = { children: readStrings(reader, "children"), stat: readStat(reader) };
        if (watcher) this.#watches.add("child", path, watcher);
        return result;
      }),
    );
  }

  /** The node's ACL and stat. */
  getACL(path: string): Promise<{ acl: Acl[]; stat: Stat }> {
    validatePath(path);
    const frame = encodeRequest(OpCode.getACL, (w) => w.string(this.#toServer(path)));
    return this.#call(`getACL ${path}`, path, frame, (reader) => ({
      acl: readAcls(reader),
      stat: readStat(reader),
    }));
  }

  /** Replaces the node's ACL; with `version` (default -1: any), only if its ACL version (`aversion`) matches. */
  setACL(path: string, acl: readonly Acl[], version = -1): Promise<Stat> {
    validatePath(path);
    const checked = validateAcl(acl);
    validateVersion(version);
    const frame = encodeRequest(OpCode.setACL, (w) => {
      w.string(this.#toServer(path));
      writeAcls(w, checked);
      w.int(version);
    });
    return this.#call(`setACL ${path}`, path, frame, readStat);
  }

  /** Waits until the server this client talks to has caught up with the leader for `path`. */
  sync(path: string): Promise<void> {
    validatePath(path);
    const frame = encodeRequest(OpCode.sync, (w) => w.string(this.#toServer(path)));
    return this.#call(`sync ${path}`, path, frame, () => undefined);
  }

  /**
   * Applies all operations atomically, or none. On refusal it rejects with a
   * {@link ZooKeeperMultiError}: the failing operation's code, its `index`, and every operation's outcome.
   *
   * @example
   * ```ts
   * await zk.multi([
   *   { type: "check", path: "/locks/lock-0000000007", version: 0 },
   *   { type: "setData", path: "/config", data: "v2" },
   * ]);
   * ```
   */
  multi(ops: readonly MultiOp[]): Promise<MultiResult[]> {
    const prepared = prepareMulti(ops);
    if (prepared.length === 0) return Promise.resolve([]);
    const frame = encodeRequest(OpCode.multi, (w) => writeMulti(w, prepared, this.#toServer));
    const first = prepared[0]!.path;
    return this.#request(
      `multi (${prepared.length} operations, from ${first})`,
      first,
      frame,
      (rc, reader) =>
        rc === 0
          ? readMulti(reader, prepared, this.#toClient)
          : ZooKeeperError.fromResult(rc, "multi", first),
    );
  }

  /**
   * Adds a watch that stays until removed: `persistent` hears every event of the node (creation,
   * deletion, data and children changes), `persistentRecursive` the creations, deletions and data
   * changes of the node and every descendant. Needs ZooKeeper 3.6+.
   */
  addWatch(
    path: string,
    watcher: Watcher,
    options?: { mode?: "persistent" | "persistentRecursive" },
  ): Promise<void> {
    validatePath(path);
    if (typeof watcher !== "function")
      throw badArgument(`addWatch() needs a watcher function; got ${describeValue(watcher)}.`, path);
    const mode = options?.mode ?? "persistent";
    if (mode !== "persistent" && mode !== "persistentRecursive") {
      throw badArgument(
        `addWatch() mode must be "persistent" or "persistentRecursive"; got ${describeValue(mode)}.`,
        path,
      );
    }
    const frame = encodeRequest(OpCode.addWatch, (w) =>
      w.string(this.#toServer(path)).int(mode === "persistent" ? 0 : 1),
    );
    return this.#watching(mode, path, () =>
      this.#call(`addWatch ${path}`, path, frame, () => {
        this.#watches.add(mode, path, watcher);
      }),
    );
  }

  /**
   * Removes watches of `path`: one `watcher`, or all of the given `type` (default `any`), here and
   * at the server (which stops sending their events). Each removed watcher is called once more with
   * a `dataWatchRemoved`, `childWatchRemoved` or `persistentWatchRemoved` event, so a wait on it can
   * end. Rejects with `NOWATCHER`, sending nothing, when there is no such watch. The types
   * `persistent` and `persistentRecursive` need ZooKeeper 3.9+; a 3.8 server removes persistent
   * watches with `any` only (and its `data` and `children` removals take them along).
   */
  async removeWatches(
    path: string,
    options?: { type?: RemoveWatchesType; watcher?: Watcher },
  ): Promise<void> {
    validatePath(path);
    const type = options?.type ?? "any";
    if (!Object.hasOwn(removeTypes, type)) {
      throw badArgument(
        `removeWatches() type must be one of ${Object.keys(removeTypes).join(", ")}; got ${describeValue(type)}.`,
        path,
      );
    }
    const watcher = options?.watcher;
    if (watcher !== undefined && typeof watcher !== "function") {
      throw badArgument(`removeWatches() watcher must be a function; got ${describeValue(watcher)}.`, path);
    }
    const { kinds } = removeTypes[type];
    if (!this.#watches.has(path, kinds, watcher)) {
      const what = `${type === "any" ? "" : `${type} `}watch${watcher ? " of this watcher" : ""}`;
      throw new ZooKeeperError("NOWATCHER", `removeWatches ${path}: this client has no ${what} there.`, {
        path,
      });
    }
    // The server keeps one watch per group and path; one watcher's removal ends it only when that
    // watcher was the group's last one here and no request that sets one there is unanswered (the
    // server reads that request first: its watch is the one a removal would take).
    const serverTypes =
      watcher === undefined
        ? [removeTypes[type].server]
        : serverWatchGroups
            .filter((group) => {
              const covered = group.kinds.filter((kind) => kinds.includes(kind));
              return (
                this.#watches.has(path, covered, watcher) && this.#watches.lastOf(path, group.kinds, watcher)
              );
            })
            .map((group) => group.server);
    await Promise.all(
      serverTypes.map((serverType) =>
        this.#request(
          `removeWatches ${path}`,
          path,
          encodeRequest(OpCode.removeWatches, (w) => w.string(this.#toServer(path)).int(serverType)),
          (rc) => {
            if (rc === 0) return undefined;
            const error = ZooKeeperError.fromResult(rc, "removeWatches", path);
            // Servers before 3.9 know the types children, data and any only, and fail to read others.
            if (rc !== resultCodes.MARSHALLINGERROR || serverType <= removeTypes.any.server) return error;
            return new ZooKeeperError(
              error.code,
              `${error.message} Removing persistent watches by type needs ZooKeeper 3.9 or later; with an older server use type "any".`,
              { path },
            );
          },
        ),
      ),
    );
    for (const [kind, removed] of this.#watches.remove(path, kinds, watcher)) {
      const event = { type: removedEventOf[kind], path };
      for (const w of removed) queueMicrotask(() => w(event));
    }
  }

  /**
   * Authenticates the session (e.g. `addAuth("digest", "user:password")`) on this and every later
   * connection. Resolves once the server accepts; a refusal (`AUTHFAILED`) ends the session.
   */
  addAuth(scheme: string, auth: string | Uint8Array): Promise<void> {
    if (typeof scheme !== "string" || scheme === "")
      throw badArgument(`addAuth() needs a scheme such as "digest"; got ${describeValue(scheme)}.`);
    if (typeof auth !== "string" && !(auth instanceof Uint8Array)) {
      throw badArgument(`addAuth() credentials must be a string or bytes; got ${describeValue(auth)}.`);
    }
    const rejected = this.#refusal();
    if (rejected) return Promise.reject(rejected);
    const entry = this.#addAuthEntry(scheme, auth);
    if (this.#connection && this.#state === "connected") this.#sendAuth(this.#connection, entry);
    return entry.promise;
  }

  /**
   * Ends the session: the server deletes its ephemeral nodes and watches now, not at the session
   * timeout. Requests not yet sent fail with `CLOSING`; those in flight get their answers first.
   * Without a connection it only stops the client (the server expires the session in time).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#end) return;
    const closing = new ZooKeeperError("CLOSING", `The client for ${this.connectString} was closed.`);
    this.#closeRequested = closing;
    for (const request of this.#queue.splice(0)) request.fail(closing);
    const connection = this.#connection;
    if (connection && this.#state === "connected") {
      try {
        await new Promise<void>((resolve, reject) =>
          connection.send({
            frame: encodeRequest(OpCode.closeSession),
            description: "closeSession",
            answer: () => resolve(),
            fail: reject,
          }),
        );
      } catch {
        // The connection dropped first: the server expires the session at its timeout instead.
      }
    }
    this.#finish("closed", closing);
  }

  async #begin(connectTimeout: number): Promise<void> {
    if (this.#end) throw this.#end;
    const session = new Promise<void>((resolve, reject) => {
      this.#firstSession = { resolve, reject };
    });
    const auths = this.#auth.map((entry) => entry.promise);
    this.#run().catch((error: unknown) => {
      // A bug, not a network failure: end the session loudly rather than stop reconnecting in silence.
      this.#finish(
        "closed",
        new ZooKeeperError(
          "SYSTEMERROR",
          `The connection loop of the client for ${this.connectString} failed: ${error}`,
          {
            cause: error,
          },
        ),
      );
    });
    const timer = setTimeout(() => {
      this.#finish(
        "closed",
        new ZooKeeperError(
          "OPERATIONTIMEOUT",
          `Could not connect to ZooKeeper at "${this.connectString}" within ${connectTimeout} ms (connectTimeout): ${this.#describeAttempts()}.`,
        ),
      );
    }, connectTimeout);
    try {
      await session;
      await Promise.all(auths);
    } catch (error) {
      await this.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The connection loop: connect, serve the session until the connection ends, back off, again. */
  async #run(): Promise<void> {
    let failures = 0;
    let afterLoss = false;
    while (!this.#end) {
      const delay = this.#reconnectDelay(failures, afterLoss);
      if (delay > 0) await this.#sleep(delay);
      if (this.#end) break;
      const server = this.#servers[this.#nextServer]!;
      this.#nextServer = (this.#nextServer + 1) % this.#servers.length;
      let opened: Awaited<ReturnType<typeof Connection.open>>;
      try {
        opened = await Connection.open({
          server,
          tls: this.#options.tls,
          timeoutMs: this.#attemptTimeout(),
          maxFrameBytes: this.#options.maxPacketBytes,
          request: {
            lastZxidSeen: this.#lastZxid,
            timeout: this.#options.sessionTimeout,
            sessionId: this.#sessionId,
            password: this.#password,
          },
          handler: this.#handler,
          signal: this.#stop.signal,
        });
      } catch (error) {
        failures++;
        afterLoss = false;
        this.#attemptErrors.set(formatServer(server), (error as Error).message);
        continue;
      }
      const { connection, response } = opened;
      if (this.#end) {
        connection.close(this.#end);
        break;
      }
      if (response.timeout <= 0) {
        const error = new ZooKeeperError(
          "SESSIONEXPIRED",
          `The session ${this.sessionIdHex} has expired: ${connection.server} refused to rejoin it.`,
        );
        connection.close(error);
        this.#finish("expired", error);
        break;
      }
      if (this.#sessionId !== 0n && response.sessionId !== this.#sessionId) {
        // Only a new session (id 0) gets a new id; anything else is not a server speaking ZooKeeper.
        connection.close(
          new ZooKeeperError(
            "MARSHALLINGERROR",
            `${connection.server} answered the request to rejoin session ${this.sessionIdHex} with session 0x${BigInt.asUintN(64, response.sessionId).toString(16)}.`,
          ),
        );
        failures++;
        continue;
      }
      failures = 0;
      await new Promise<void>((resolve) => {
        connection.onClosed((reason) => {
          this.#connectionLost(connection, reason);
          resolve();
        });
        this.#established(connection, response.sessionId, response.password, response.timeout);
      });
      afterLoss = true;
    }
  }

  #established(connection: Connection, sessionId: bigint, password: Buffer, timeout: number): void {
    if (connection.closed) return;
    this.#sessionId = sessionId;
    this.#password = password;
    this.#negotiatedTimeout = timeout;
    this.#connection = connection;
    clearTimeout(this.#expiryTimer);
    connection.start(timeout);
    // The order of the Java client: credentials, then the watches to restore, then waiting requests.
    this.#authInFlight = [];
    for (const entry of this.#auth) this.#sendAuth(connection, entry);
    this.#restoreWatches(connection);
    for (const request of this.#queue.splice(0)) connection.send(request);
    if (connection.closed) return;
    this.#attemptErrors.clear();
    this.#setState("connected", connection.server, undefined);
    this.#firstSession?.resolve();
    this.#firstSession = undefined;
  }

  #connectionLost(connection: Connection, reason: ZooKeeperError): void {
    if (this.#connection === connection) this.#connection = undefined;
    this.#attemptErrors.set(connection.server, reason.message);
    if (this.#end || this.#state !== "connected") return;
    // The server expires the session once it has not heard from the client for the timeout; by
    // 4/3 of it without a word from any server, the session is taken for expired (ZOOKEEPER-4508).
    const expiresIn = (this.#negotiatedTimeout * 4) / 3 - (performance.now() - connection.lastReceived);
    this.#expiryTimer = setTimeout(
      () => {
        this.#finish(
          "expired",
          new ZooKeeperError(
            "SESSIONEXPIRED",
            `The session ${this.sessionIdHex} counts as expired: no server of "${this.connectString}" answered for 4/3 of its ${this.#negotiatedTimeout} ms timeout. Last failures: ${this.#describeAttempts()}.`,
          ),
          { assumed: true },
        );
      },
      Math.max(expiresIn, 0),
    );
    this.#setState("disconnected", connection.server, reason);
  }

  /** Ends the session for good: every waiting call fails with `error`. */
  #finish(state: ClientState, error: ZooKeeperError, { assumed = false } = {}): void {
    if (this.#end) return;
    this.#end = error;
    this.#stop.abort();
    clearTimeout(this.#expiryTimer);
    this.#connection?.close(error);
    this.#connection = undefined;
    for (const request of this.#queue.splice(0)) request.fail(error);
    for (const entry of this.#auth.splice(0)) if (!entry.answered) entry.reject(error);
    this.#watches.clear();
    this.#firstSession?.reject(error);
    this.#firstSession = undefined;
    this.#setState(state, undefined, error, assumed);
  }

  #setState(
    state: ClientState,
    server: string | undefined,
    error: ZooKeeperError | undefined,
    assumed = false,
  ): void {
    const previous = this.#state;
    this.#state = state;
    // Listeners run after the client's own bookkeeping, so that one that calls back into the
    // client (or throws) finds it consistent.
    queueMicrotask(() => this.emit("state", state, { previous, server, error, assumed }));
  }

  readonly #handler: ConnectionHandler = {
    notification: (event) => {
      const type = serverEventTypes.get(event.type);
      if (type === undefined) {
        throw new ZooKeeperError(
          "MARSHALLINGERROR",
          `${this.#connection?.server ?? "The server"} sent a watch event of unknown type ${event.type} for ${event.path}.`,
        );
      }
      const path = this.#toClient(event.path);
      const watchEvent = { type, path };
      for (const watcher of this.#watches.fire(type, path)) queueMicrotask(() => watcher(watchEvent));
    },
    authReply: (rc) => {
      const entry = this.#authInFlight.shift();
      if (entry === undefined) {
        throw new ZooKeeperError(
          "MARSHALLINGERROR",
          `${this.#connection?.server ?? "The server"} answered an auth packet that was never sent.`,
        );
      }
      if (rc === 0) {
        if (!entry.answered) {
          entry.answered = true;
          entry.resolve();
        }
      } else if (rc === resultCodes.AUTHFAILED) {
        this.#finish(
          "authFailed",
          new ZooKeeperError(
            "AUTHFAILED",
            `${this.#connection?.server ?? "The server"} refused the "${entry.scheme}" credentials; the session is over.`,
          ),
        );
      } else {
        this.#auth.splice(this.#auth.indexOf(entry), 1);
        entry.answered = true;
        entry.reject(ZooKeeperError.fromResult(rc, `addAuth ${entry.scheme}`));
      }
    },
    zxid: (zxid) => {
      if (zxid > this.#lastZxid) this.#lastZxid = zxid;
    },
  };

  #addAuthEntry(scheme: string, auth: string | Uint8Array): AuthEntry {
    let resolve!: () => void;
    let reject!: (error: ZooKeeperError) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // The options' credentials are awaited by start() only once it is called: until then a
    // refusal must not count as an unhandled rejection.
    promise.catch(() => {});
    const entry: AuthEntry = {
      scheme,
      // AuthPacket: type (unused, 0), scheme, credentials.
      frame: encodeRequest(OpCode.auth, (w) => w.int(0).string(scheme).buffer(toBytes(auth)), Xid.auth),
      answered: false,
      promise,
      resolve,
      reject,
    };
    this.#auth.push(entry);
    return entry;
  }

  #sendAuth(connection: Connection, entry: AuthEntry): void {
    this.#authInFlight.push(entry);
    connection.sendAuth(entry.frame);
  }

  /** Sends setWatches (or setWatches2, for persistent watches) for every watch the client keeps. */
  #restoreWatches(connection: Connection): void {
    if (this.#watches.empty) return;
    const paths = this.#watches.paths();
    const kinds: WatchKind[] = ["data", "exist", "child", "persistent", "persistentRecursive"];
    const batches: Record<WatchKind, string[]>[] = [];
    let batch: Record<WatchKind, string[]> | undefined;
    let chars = 0;
    for (const kind of kinds) {
      for (const path of paths[kind]) {
        if (!batch || chars >= SET_WATCHES_BATCH_CHARS) {
          batch = { data: [], exist: [], child: [], persistent: [], persistentRecursive: [] };
          batches.push(batch);
          chars = 0;
        }
        const serverPath = this.#toServer(path);
        batch[kind].push(serverPath);
        chars += serverPath.length;
      }
    }
    for (const lists of batches) {
      const persistent = lists.persistent.length > 0 || lists.persistentRecursive.length > 0;
      const frame = encodeRequest(
        persistent ? OpCode.setWatches2 : OpCode.setWatches,
        (w) => {
          // Events since the last zxid this client saw are sent at once: nothing is missed.
          w.long(this.#lastZxid).strings(lists.data).strings(lists.exist).strings(lists.child);
          if (persistent) w.strings(lists.persistent).strings(lists.persistentRecursive);
        },
        Xid.setWatches,
      );
      connection.send({
        frame,
        fixedXid: Xid.setWatches,
        description: "setWatches",
        answer: (rc) => {
          // Without its watches the session would wait for events that never come: try another connection.
          if (rc !== 0) throw ZooKeeperError.fromResult(rc, "setWatches (restoring the watches)");
        },
        // Lost with its connection: the next connection sends the watches again.
        fail: () => {},
      });
    }
  }

  /**
   * `send()`'s request, counted as a watch of `kind` on `path` until it is answered or fails, so
   * that a removal sent meanwhile leaves the server's watch in place (see `WatchRegistry.expect`).
   * Without a kind (a read without a watcher) it is just the request.
   */
  #watching<T>(kind: WatchKind | undefined, path: string, send: () => Promise<T>): Promise<T> {
    if (kind === undefined) return send();
    const settle = this.#watches.expect(kind, path);
    return send().finally(settle);
  }

  /** The request frame of a write operation, checked as the same operation inside a multi is. */
  #encode(op: MultiOp, where: string): Buffer {
    const prepared = prepareOp(op, where);
    return encodeRequest(prepared.opcode, (w) => prepared.write(w, this.#toServer));
  }

  /** A call whose failure is the server's result code, and whose answer `decode` reads. */
  #call<T>(description: string, path: string, frame: Buffer, decode: (reader: JuteReader) => T): Promise<T> {
    return this.#request(description, path, frame, (rc, reader) =>
      rc === 0 ? decode(reader) : ZooKeeperError.fromResult(rc, description.split(" ")[0]!, path),
    );
  }

  /**
   * Sends a request (or queues it until there is a connection). `read` runs when the answer
   * arrives, in order with other answers and watch events: it returns the result, or the error to
   * reject with; it throws only for an answer that cannot be decoded, which ends the connection.
   */
  #request<T>(
    description: string,
    path: string,
    frame: Buffer,
    read: (rc: number, reader: JuteReader) => T | ZooKeeperError,
  ): Promise<T> {
    if (frame.length - 4 > this.#options.maxRequestBytes) {
      // The server drops a connection over a request longer than its jute.maxbuffer, applies
      // nothing, and the caller would see a connection loss instead of what is wrong.
      return Promise.reject(
        badArgument(
          `${description}: the request takes ${frame.length - 4} bytes, more than maxRequestBytes (${this.#options.maxRequestBytes}, the servers' jute.maxbuffer), so a server would drop the connection. Store less data in one node, or raise maxRequestBytes with the servers' jute.maxbuffer.`,
          path,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const request: Request = {
        frame,
        description,
        path,
        answer: (rc, reader) => {
          const outcome = read(rc, reader);
          if (outcome instanceof ZooKeeperError) reject(outcome);
          else resolve(outcome);
        },
        fail: reject,
      };
      const refusal = this.#refusal();
      if (refusal) request.fail(refusal);
      else if (this.#connection && this.#state === "connected" && !this.#connection.closed)
        this.#connection.send(request);
      else this.#queue.push(request);
    });
  }

  /** Why a new request cannot be made, if it cannot. */
  #refusal(): ZooKeeperError | undefined {
    return this.#end ?? this.#closeRequested;
  }

  /**
   * How long one connection attempt may take, TCP, TLS and the session handshake together: each
   * server's share of the session timeout, as the Java client gives it, but never more than a
   * third. A server can accept a connection and then never answer it — ZooKeeper does so with one
   * it refuses while it starts (ZOOKEEPER-5051: the close fails and the socket stays open) — and
   * with one or two servers the whole share would go to that attempt: after a restart of a lone
   * server, the session would expire before the client tried it again.
   */
  #attemptTimeout(): number {
    const sessionTimeout = this.#negotiatedTimeout || this.#options.sessionTimeout;
    return Math.max(1, Math.floor(sessionTimeout / Math.max(this.#servers.length, 3)));
  }

  #reconnectDelay(failures: number, afterLoss: boolean): number {
    const { reconnectInitialMs, reconnectMaxMs } = this.#options;
    // Right after a lost connection, a little jitter spreads the clients of a failed server.
    if (failures === 0) return afterLoss ? Math.random() * reconnectInitialMs : 0;
    const base = Math.min(reconnectMaxMs, reconnectInitialMs * 2 ** (failures - 1));
    return base / 2 + (Math.random() * base) / 2;
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  #describeAttempts(): string {
    if (this.#attemptErrors.size === 0) return "no connection attempt has finished yet";
    return [...this.#attemptErrors]
      .map(([server, message]) => `${server}: ${message.replace(/\.$/, "")}`)
      .join("; ");
  }

  readonly #toServer = (path: string) => this.#parsed.chroot.toServer(path);
  readonly #toClient = (path: string) => this.#parsed.chroot.toClient(path);
}

function watcherOf(options: WatchOptions | undefined): Watcher | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) {
    throw badArgument(`Watch options must be an object such as { watcher }; got ${describeValue(options)}.`);
  }
  const { watcher } = options;
  if (watcher !== undefined && typeof watcher !== "function") {
    throw badArgument(`watcher must be a function; got ${describeValue(watcher)}.`);
  }
  return watcher;
}

/** A shuffled copy (Fisher–Yates), so that clients spread over the servers. */
function shuffle<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
