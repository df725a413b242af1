import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { closeDelayQueue, deliverAt } from "./delay-queue.js";
import { ZooKeeperTestingError } from "./errors.js";
import { preciseNow } from "./precise-timer.js";
import {
  FrameScanner,
  parseReply,
  parseRequest,
  type RequestFrame,
  type RequestKind,
  requestKinds,
} from "./zookeeper-frames.js";

/** What a proxy stands in front of: a connect string, or anything with one (a server, an ensemble, a member). */
export type ProxyTarget = string | { readonly connectString: string };

/** Added latency; see {@link ZooKeeperProxy.setLatency}. */
export interface LatencyOptions {
  /** Delay added to each chunk, in milliseconds; fractions count (0.5 each way makes a 1 ms round trip). */
  ms: number;
  /** Each chunk's delay is drawn uniformly from `ms ± jitterMs` (never below 0). Default 0. */
  jitterMs?: number;
  /** Which way: `"toServer"`, `"toClient"` or `"both"` (the default, `ms` each way). */
  direction?: "both" | "toServer" | "toClient";
}

/** Which request a drop applies to. */
export interface RequestMatch {
  /** The kind of request: `"create"` (any of its variants), `"delete"`, `"getData"`, `"setData"`, … */
  kind: RequestKind;
  /** Only a request whose path contains this string (or matches this pattern). */
  path?: string | RegExp;
}

/** A request the proxy let through and whose reply it kept from the client. */
export interface DroppedReply {
  kind: RequestKind;
  xid: number;
  /** The path of the request. */
  requestPath: string | undefined;
  /** The server's result code (0: done; for a create, the node exists now). */
  err: number;
  /** The zxid the reply carried. */
  zxid: bigint;
  /** For a create that succeeded, the created path (with its sequence suffix); else the request's path. */
  path: string | undefined;
}

/** A request the proxy kept from the server. */
export interface DroppedRequest {
  kind: RequestKind;
  xid: number;
  path: string | undefined;
}

/** Options of {@link ZooKeeperProxy.dropReply}. */
export interface DropReplyOptions {
  /** After the drop, refuse new connections until {@link ZooKeeperProxy.heal} (the client stays cut off). */
  thenRefuse?: boolean;
}

/** Options of {@link startProxy}. */
export interface StartProxyOptions {
  /** Latency to add from the start. */
  latency?: LatencyOptions;
}

/**
 * A TCP proxy between ZooKeeper clients and servers that injects network faults; see {@link startProxy}.
 * Faults apply to every connection through it, present and future, until {@link heal}.
 */
export interface ZooKeeperProxy extends AsyncDisposable {
  /** The proxy's own `127.0.0.1:<port>` for each server of the target (and its chroot), for a client. */
  readonly connectString: string;
  /** The proxy's ports, one per server of the target, in the target's order. */
  readonly ports: readonly number[];
  /** How many client connections are open through the proxy now. */
  readonly connections: number;
  /**
   * How many client connections reached the proxy since it started, refused ones included: the
   * client's connection attempts, to check that a cut-off client backs off instead of spinning.
   */
  readonly accepted: number;
  /**
   * Delays what passes by `ms` (± `jitterMs`), to the server, to the client or both ways; accurate to
   * about 0.1 ms, so a 1 ms round trip is a 1 ms round trip. Bytes keep their order. `ms: 0` removes it.
   */
  setLatency(options: LatencyOptions): void;
  /**
   * A silent partition: connections stay open, new ones are accepted, but nothing passes either way
   * (what was on its way is lost too). Clients only notice through their own timeouts, while the
   * server's session clocks run on. {@link heal} ends it.
   */
  blackhole(): void;
  /** Closes every connection now, as a network reset would; clients may reconnect at once. */
  cut(): void;
  /** Closes every connection and refuses new ones until {@link heal}, as a server that is down would. */
  refuse(): void;
  /**
   * Lets the next request that matches reach the server, but closes the connection just before its
   * reply reaches the client. What the server sent before that reply still arrives (the replies to
   * requests sent before it, notifications), after its latency if any; the reply and all after it
   * are lost, and the requests the client sends after it never reach the server. The server did the
   * work; the client only sees a connection loss: the lost create reply. Resolves, once the
   * connection is closed, with the reply the client never saw.
   */
  dropReply(match: RequestMatch, options?: DropReplyOptions): Promise<DroppedReply>;
  /**
   * Closes the connection just before the next request that matches, so the server never sees it.
   * What was sent before it still arrives, after its latency if any: the earlier requests reach the
   * server, and what the server had sent by then reaches the client. Nothing passes after it either
   * way, so the replies the server sends later, to those earlier requests too, are lost with the
   * connection (their callers see a connection loss for work the server did). Resolves once the
   * connection is closed.
   */
  dropRequest(match: RequestMatch): Promise<DroppedRequest>;
  /**
   * Back to a clean network: no latency, no partition, no refusal. Connections that a blackhole
   * starved are closed (their streams lost bytes), so clients reconnect. Armed drops stay armed.
   */
  heal(): void;
  /** Closes every connection and the proxy's ports. Armed drops reject with `NOT_RUNNING`. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a fault-injecting TCP proxy in front of a ZooKeeper server, an ensemble or one member: it
 * listens on a free loopback port for each server of the target's connect string. Point a client at
 * `proxy.connectString` instead of the server's, then add latency, partition it, cut or refuse its
 * connections, or lose the reply to a chosen request, and {@link ZooKeeperProxy.heal} it.
 *
 * The proxy understands ZooKeeper's framing (for the drops) but forwards bytes as they come; when no
 * fault is set it adds only a copy through the kernel. It does not keep the process alive by itself.
 *
 * @example
 * ```ts
 * await using zk = await startZooKeeper();
 * await using proxy = await startProxy(zk);
 * const client = await connectZooKeeper(proxy.connectString, { sessionTimeout: 4000 });
 * proxy.setLatency({ ms: 0.5, jitterMs: 0.1 }); // a 1 ms round trip
 * const lost = proxy.dropReply({ kind: "create", path: "/jobs/" });
 * await client.create("/jobs/one", "", 0).catch(() => {}); // connection loss…
 * console.log((await lost).err); // …but 0: the node exists
 * proxy.blackhole(); // a silent partition
 * proxy.heal();
 * client.close();
 * ```
 */
export async function startProxy(
  target: ProxyTarget,
  options: StartProxyOptions = {},
): Promise<ZooKeeperProxy> {
  const connectString = typeof target === "string" ? target : target.connectString;
  const { servers, chroot } = parseConnectString(connectString);
  const proxy = new FaultProxy(chroot);
  try {
    for (const server of servers) await proxy.listen(server.host, server.port);
  } catch (error) {
    await proxy.stop();
    throw error;
  }
  if (options.latency) proxy.setLatency(options.latency);
  return proxy;
}

function parseConnectString(connectString: string): {
  servers: { host: string; port: number }[];
  chroot: string;
} {
  const slash = connectString.indexOf("/");
  const hosts = slash === -1 ? connectString : connectString.slice(0, slash);
  const chroot = slash === -1 ? "" : connectString.slice(slash);
  const servers = hosts.split(",").map((entry) => {
    const colon = entry.lastIndexOf(":");
    const host = (colon === -1 ? entry : entry.slice(0, colon)).trim().replace(/^\[(.*)\]$/, "$1");
    const port = colon === -1 ? 2181 : Number(entry.slice(colon + 1));
    if (host === "" || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ZooKeeperTestingError(
        "INVALID_ARGUMENT",
        `startProxy: "${connectString}" is not a ZooKeeper connect string (host:port[,host:port…][/chroot])`,
      );
    }
    return { host, port };
  });
  return { servers, chroot };
}

interface Delay {
  ms: number;
  jitterMs: number;
}

function checkLatency({ ms, jitterMs = 0, direction = "both" }: LatencyOptions): void {
  const valid =
    Number.isFinite(ms) &&
    ms >= 0 &&
    Number.isFinite(jitterMs) &&
    jitterMs >= 0 &&
    ["both", "toServer", "toClient"].includes(direction);
  if (!valid) {
    throw new ZooKeeperTestingError(
      "INVALID_ARGUMENT",
      `setLatency: ms and jitterMs must be finite and >= 0 and direction "both", "toServer" or "toClient"; got ${JSON.stringify({ ms, jitterMs, direction })}`,
    );
  }
}

function matches(match: RequestMatch, request: RequestFrame): boolean {
  if (!(requestKinds[match.kind] as readonly number[]).includes(request.opcode)) return false;
  if (match.path === undefined) return true;
  if (request.path === undefined) return false;
  return typeof match.path === "string" ? request.path.includes(match.path) : match.path.test(request.path);
}

const kindOf = (opcode: number): RequestKind =>
  (Object.keys(requestKinds) as RequestKind[]).find((kind) =>
    (requestKinds[kind] as readonly number[]).includes(opcode),
  )!;

/** A drop waiting for its request: of the reply (the request reaches the server) or of the request. */
type ArmedDrop = { match: RequestMatch; thenRefuse: boolean; reject: (error: Error) => void } & (
  | { reply: true; resolve: (dropped: DroppedReply) => void }
  | { reply: false; resolve: (dropped: DroppedRequest) => void }
);

class FaultProxy implements ZooKeeperProxy {
  readonly #servers: Server[] = [];
  readonly #ports: number[] = [];
  readonly #connections = new Set<Connection>();
  #accepted = 0;
  #drops: ArmedDrop[] = [];
  #toServer: Delay | undefined;
  #toClient: Delay | undefined;
  #blackholed = false;
  #refusing = false;
  #stopped: Promise<void> | undefined;

  constructor(private readonly chroot: string) {}

  get connectString(): string {
    return this.#ports.map((port) => `127.0.0.1:${port}`).join(",") + this.chroot;
  }

  get ports(): readonly number[] {
    return this.#ports;
  }

  get connections(): number {
    return this.#connections.size;
  }

  get accepted(): number {
    return this.#accepted;
  }

  async listen(host: string, port: number): Promise<void> {
    // Half-open connections pass on: a four-letter command is sent, then the sender's side closed.
    const server = createServer({ noDelay: true, allowHalfOpen: true }, (client) =>
      this.#accept(client, host, port),
    );
    this.#servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    // A forgotten proxy must not keep a test process alive; its open connections still do.
    server.unref();
    this.#ports.push((server.address() as { port: number }).port);
  }

  setLatency(options: LatencyOptions): void {
    checkLatency(options);
    const { ms, jitterMs = 0, direction = "both" } = options;
    const delay = ms === 0 && jitterMs === 0 ? undefined : { ms, jitterMs };
    if (direction !== "toClient") this.#toServer = delay;
    if (direction !== "toServer") this.#toClient = delay;
  }

  blackhole(): void {
    this.#blackholed = true;
    for (const connection of this.#connections) connection.starve();
  }

  cut(): void {
    for (const connection of this.#connections) connection.close();
  }

  refuse(): void {
    this.#refusing = true;
    this.cut();
  }

  dropReply(match: RequestMatch, options: DropReplyOptions = {}): Promise<DroppedReply> {
    const thenRefuse = options.thenRefuse ?? false;
    return this.#arm<DroppedReply>(match, (resolve, reject) => ({
      match,
      reply: true,
      thenRefuse,
      resolve,
      reject,
    }));
  }

  dropRequest(match: RequestMatch): Promise<DroppedRequest> {
    return this.#arm<DroppedRequest>(match, (resolve, reject) => ({
      match,
      reply: false,
      thenRefuse: false,
      resolve,
      reject,
    }));
  }

  heal(): void {
    this.#toServer = undefined;
    this.#toClient = undefined;
    this.#refusing = false;
    if (!this.#blackholed) return;
    this.#blackholed = false;
    for (const connection of this.#connections) if (connection.starved) connection.close();
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#refusing = true;
      this.cut();
      const drops = this.#drops;
      this.#drops = [];
      for (const drop of drops) {
        drop.reject(
          new ZooKeeperTestingError("NOT_RUNNING", "The proxy stopped before a matching request came"),
        );
      }
      await Promise.all(this.#servers.map((server) => new Promise((resolve) => server.close(resolve))));
      await closeDelayQueue();
    })();
    return this.#stopped;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  delayFor(toServer: boolean): Delay | undefined {
    return toServer ? this.#toServer : this.#toClient;
  }

  /** The first armed drop that `request` matches, now disarmed. */
  takeDrop(request: RequestFrame): ArmedDrop | undefined {
    const index = this.#drops.findIndex((drop) => matches(drop.match, request));
    if (index === -1) return undefined;
    return this.#drops.splice(index, 1)[0];
  }

  get armed(): boolean {
    return this.#drops.length > 0;
  }

  refuseFromNowOn(): void {
    this.#refusing = true;
  }

  forget(connection: Connection): void {
    this.#connections.delete(connection);
  }

  #arm<T>(
    match: RequestMatch,
    drop: (resolve: (dropped: T) => void, reject: (error: Error) => void) => ArmedDrop,
  ): Promise<T> {
    if (!(match?.kind in requestKinds)) {
      throw new ZooKeeperTestingError(
        "INVALID_ARGUMENT",
        `A drop needs a request kind, one of ${Object.keys(requestKinds).join(", ")}; got ${String(match?.kind)}`,
      );
    }
    if (this.#stopped) throw new ZooKeeperTestingError("NOT_RUNNING", "The proxy was stopped");
    const promise = new Promise<T>((resolve, reject) => {
      this.#drops.push(drop(resolve, reject));
    });
    // A drop nobody awaits must not turn into an unhandled rejection when the proxy stops.
    promise.catch(() => {});
    return promise;
  }

  #accept(client: Socket, host: string, port: number): void {
    this.#accepted++;
    if (this.#refusing) {
      client.destroy();
      return;
    }
    const connection = new Connection(this, client, host, port, this.#blackholed);
    this.#connections.add(connection);
  }
}

/** One direction of a connection, with its added latency. */
class Pipe {
  #pending = 0;
  #lastDue = 0;
  #draining = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly delay: () => Delay | undefined,
    private readonly starved: () => boolean,
  ) {}

  send(chunk: Buffer): void {
    const delay = this.delay();
    if (delay === undefined && this.#pending === 0) {
      this.#write(chunk);
      return;
    }
    // Later bytes never overtake earlier ones, whatever the jitter drew: it is one TCP stream.
    const drawn = delay === undefined ? 0 : delay.ms + (2 * Math.random() - 1) * delay.jitterMs;
    const due = Math.max(preciseNow() + Math.max(0, drawn), this.#lastDue);
    this.#lastDue = due;
    this.#pending++;
    deliverAt(due, () => {
      this.#pending--;
      if (!this.starved()) this.#write(chunk);
    });
  }

  /** Runs `next` once what was sent before has been delivered: for the end of the stream, and a close. */
  afterSent(next: () => void): void {
    if (this.#pending === 0) next();
    else deliverAt(this.#lastDue, next);
  }

  #write(chunk: Buffer): void {
    if (this.to.destroyed) return;
    if (this.to.write(chunk) || this.#draining) return;
    // The receiver is slower than the sender: stop reading until it has caught up.
    this.#draining = true;
    this.from.pause();
    this.to.once("drain", () => {
      this.#draining = false;
      this.from.resume();
    });
  }
}

/** One client connection and its connection to the server. */
class Connection {
  starved: boolean;
  readonly #client: Socket;
  readonly #upstream: Socket | undefined;
  readonly #toServer: Pipe | undefined;
  readonly #toClient: Pipe | undefined;
  readonly #requests = new FrameScanner();
  readonly #replies = new FrameScanner();
  /** The request whose reply is to be dropped, once it went to the server. */
  #lost: { request: RequestFrame; drop: Extract<ArmedDrop, { reply: true }> } | undefined;
  /** Bytes of the request whose reply is to be dropped that are still to go to the server. */
  #lastBytes: number | undefined;
  /** A drop cut the connection here: nothing more passes either way, what is on its way still arrives. */
  #closing = false;
  #closed = false;

  constructor(
    private readonly proxy: FaultProxy,
    client: Socket,
    host: string,
    port: number,
    starved: boolean,
  ) {
    this.#client = client;
    this.starved = starved;
    client.on("error", () => {});
    client.on("close", () => {
      if (this.#closing) return;
      if (this.#toServer) this.#toServer.afterSent(() => this.close());
      else this.close();
    });
    if (starved) {
      // Accepted, like a partition between two hosts that are up, and then never answered.
      client.on("data", () => {});
      return;
    }
    const upstream = connectTcp({ host, port, noDelay: true, allowHalfOpen: true });
    this.#upstream = upstream;
    upstream.on("error", () => {});
    upstream.on("close", () => this.#closing || this.#toClient!.afterSent(() => this.close()));
    this.#toServer = new Pipe(
      client,
      upstream,
      () => proxy.delayFor(true),
      () => this.starved,
    );
    this.#toClient = new Pipe(
      upstream,
      client,
      () => proxy.delayFor(false),
      () => this.starved,
    );
    client.on("data", (chunk: Buffer) => this.#fromClient(chunk));
    upstream.on("data", (chunk: Buffer) => this.#fromServer(chunk));
    client.on("end", () => this.starved || this.#closing || this.#toServer!.afterSent(() => upstream.end()));
    upstream.on("end", () => this.starved || this.#closing || this.#toClient!.afterSent(() => client.end()));
  }

  starve(): void {
    this.starved = true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
    this.#upstream?.destroy();
    this.proxy.forget(this);
  }

  /**
   * A drop's cut: from now on nothing more passes either way, but what each direction holds back
   * (the added latency) is still delivered before the connection closes, as it would have been had
   * it gone at once. Then `then` runs.
   *
   * The close is an end each way, and each socket is let go once its peer has ended too, never
   * destroyed before: a socket closed with bytes still unread, or that receives some afterwards,
   * sends a reset, and a reset makes the peer's kernel discard what its process has not read yet,
   * such as the last requests delivered to the server. What comes meanwhile is read and ignored.
   * {@link close} (a cut, a refusal, the proxy's stop) still destroys both at once.
   */
  #closeAfterSent(then: () => void): void {
    this.#closing = true;
    const sockets = [this.#client, this.#upstream!];
    this.#toServer!.afterSent(() =>
      this.#toClient!.afterSent(() => {
        const closed = sockets.map((socket) => {
          if (socket.destroyed) return Promise.resolve();
          const done = new Promise((resolve) => socket.once("close", resolve));
          // A pipe may have paused it for a slow receiver; the peer's end must still be read.
          socket.resume();
          socket.end();
          return done;
        });
        void Promise.all(closed).then(() => {
          this.close();
          then();
        });
      }),
    );
  }

  #fromClient(chunk: Buffer): void {
    if (this.starved || this.#closing || this.#closed) return;
    if (this.#lastBytes !== undefined) {
      // The rest of the request whose reply is to be lost goes through; nothing after it does.
      const part = chunk.subarray(0, this.#lastBytes);
      this.#lastBytes -= part.length;
      if (part.length > 0) this.#toServer!.send(part);
      return;
    }
    let end = chunk.length;
    let cut: (() => void) | undefined;
    if (this.proxy.armed && this.#lost === undefined) {
      this.#requests.scan(chunk, (body, start, frameEnd) => {
        const request = parseRequest(body);
        const drop = request && this.proxy.takeDrop(request);
        if (!request || !drop) return false;
        const kind = kindOf(request.opcode);
        if (drop.reply) {
          this.#lost = { request, drop };
          end = Math.min(frameEnd, chunk.length);
          this.#lastBytes = Math.max(0, frameEnd - chunk.length);
        } else {
          end = Math.max(0, start);
          cut = () =>
            this.#closeAfterSent(() => drop.resolve({ kind, xid: request.xid, path: request.path }));
        }
        return true;
      });
    } else if (this.#lost === undefined) {
      // Nothing armed: only follow the frame boundaries, so that a drop armed later finds them.
      this.#requests.scan(chunk, () => false);
    }
    if (end > 0) this.#toServer!.send(end === chunk.length ? chunk : chunk.subarray(0, end));
    cut?.();
  }

  #fromServer(chunk: Buffer): void {
    if (this.starved || this.#closing || this.#closed) return;
    const lost = this.#lost;
    if (lost === undefined) {
      this.#replies.scan(chunk, () => false);
      this.#toClient!.send(chunk);
      return;
    }
    // Waiting for the reply to drop: what the server sends before it (the replies to earlier
    // requests, notifications) still reaches the client; the reply and what follows do not. (Of a
    // reply that began in an earlier chunk, the client got those bytes: a frame cut short, no reply.)
    let end = chunk.length;
    let cut: (() => void) | undefined;
    this.#replies.scan(chunk, (body, start) => {
      const reply = parseReply(body, lost.request.opcode);
      if (reply === undefined || reply.xid !== lost.request.xid) return false;
      end = Math.max(0, start);
      if (lost.drop.thenRefuse) this.proxy.refuseFromNowOn();
      cut = () =>
        this.#closeAfterSent(() =>
          lost.drop.resolve({
            kind: kindOf(lost.request.opcode),
            xid: reply.xid,
            requestPath: lost.request.path,
            err: reply.err,
            zxid: reply.zxid,
            path: reply.createdPath ?? lost.request.path,
          }),
        );
      return true;
    });
    if (end > 0) this.#toClient!.send(end === chunk.length ? chunk : chunk.subarray(0, end));
    cut?.();
  }
}
