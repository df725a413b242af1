// One TCP (or TLS) connection to one server: the session handshake, the pipeline of requests whose
// replies come back in order, pings, and the read timeout that declares a silent server gone.
import { connect as connectTcp, isIP, type Socket } from "node:net";
import { connect as connectTls, type ConnectionOptions as TlsOptions } from "node:tls";
import { formatServer, type ServerAddress } from "./connect-string.js";
import { isZooKeeperError, ZooKeeperError } from "./errors.js";
import { type Frame, FrameReader, OversizedFrame } from "./frame-reader.js";
import { JuteReader } from "./jute.js";
import {
  type ConnectRequest,
  type ConnectResponse,
  encodeConnectRequest,
  encodeRequest,
  OpCode,
  readConnectResponse,
  readWatcherEvent,
  setXid,
  type WatcherEventRecord,
  Xid,
} from "./protocol.js";

/** A request on its way: its frame, and what becomes of the answer. */
export interface Request {
  /** The encoded request; its xid is set when it is written. */
  readonly frame: Buffer;
  /** A reserved xid (setWatches), instead of the connection's next one. */
  readonly fixedXid?: number;
  /** What it is, for error messages: "getData /a". */
  readonly description: string;
  /** The (client-side) path it is about, for the error of a reply too long to read. */
  readonly path?: string;
  /** The server answered with result code `rc`; `reader` is at the reply's body. May throw. */
  answer(rc: number, reader: JuteReader): void;
  fail(error: ZooKeeperError): void;
}

/** What a connection reports to its client, besides replies to requests. */
export interface ConnectionHandler {
  notification(event: WatcherEventRecord, zxid: bigint): void;
  authReply(rc: number): void;
  /** A reply carried a zxid: the client has seen the server's state up to it. */
  zxid(zxid: bigint): void;
}

export interface OpenOptions {
  server: ServerAddress;
  tls: TlsOptions | undefined;
  /** For the TCP (and TLS) connection and the session handshake together. */
  timeoutMs: number;
  maxFrameBytes: number;
  request: ConnectRequest;
  handler: ConnectionHandler;
  signal: AbortSignal;
}

const PING_FRAME = encodeRequest(OpCode.ping, undefined, Xid.ping);

/**
 * A connection whose handshake got an answer. The client decides from the answer whether the
 * session lives; if it does, {@link start} begins pings and the read timeout.
 */
export class Connection {
  readonly server: string;
  /** When a frame last arrived (ms, `performance.now()`): the client's session clock. */
  lastReceived = performance.now();
  #lastSent = performance.now();
  readonly #socket: Socket;
  readonly #frames: FrameReader;
  readonly #maxFrameBytes: number;
  readonly #pending: Request[] = [];
  #nextXid = 1;
  #handshake: ((response: ConnectResponse) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #corked = false;
  #closedWith: ZooKeeperError | undefined;
  readonly #closedListeners: ((reason: ZooKeeperError) => void)[] = [];

  private constructor(
    socket: Socket,
    server: ServerAddress,
    maxFrameBytes: number,
    private readonly handler: ConnectionHandler,
  ) {
    this.server = formatServer(server);
    this.#socket = socket;
    this.#frames = new FrameReader(maxFrameBytes, `The server ${this.server}`);
    this.#maxFrameBytes = maxFrameBytes;
    socket.setNoDelay(true);
    let socketError: Error | undefined;
    socket.on("data", (chunk: Buffer) => this.#receive(chunk));
    socket.on("error", (error) => {
      socketError = error;
    });
    socket.on("close", () => this.#close(lost(this.server, this.#whyClosed(socketError), socketError)));
  }

  /**
   * Connects to `server`, sends the session request, and resolves with the connection and the
   * server's answer; rejects with `CONNECTIONLOSS` (or the decoding error) if there is none within
   * `timeoutMs`, the socket fails, or `signal` aborts.
   */
  static open(options: OpenOptions): Promise<{ connection: Connection; response: ConnectResponse }> {
    const { server, tls, timeoutMs, signal } = options;
    const socket = tls
      ? connectTls({
          ...tls,
          host: server.host,
          port: server.port,
          // SNI names a host; Node refuses an IP address there.
          ...(isIP(server.host) === 0 && tls.servername === undefined && { servername: server.host }),
        })
      : connectTcp({ host: server.host, port: server.port });
    const connection = new Connection(socket, server, options.maxFrameBytes, options.handler);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => connection.close(lost(connection.server, `no session handshake within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = () => connection.close(lost(connection.server, "the client stopped connecting"));
      signal.addEventListener("abort", onAbort, { once: true });
      const settle = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      };
      connection.#handshake = (response) => {
        settle();
        resolve({ connection, response });
      };
      connection.onClosed((reason) => {
        settle();
        reject(reason);
      });
      socket.once(tls ? "secureConnect" : "connect", () =>
        connection.#write(encodeConnectRequest(options.request)),
      );
      if (signal.aborted) onAbort();
    });
  }

  get closed(): boolean {
    return this.#closedWith !== undefined;
  }

  /** Calls `listener` once when the connection ends, with the reason (at once if it has ended). */
  onClosed(listener: (reason: ZooKeeperError) => void): void {
    if (this.#closedWith) listener(this.#closedWith);
    else this.#closedListeners.push(listener);
  }

  /**
   * Begins the heartbeat for a session of `timeoutMs`: a ping whenever nothing was sent for a third
   * of it, and the connection given up when nothing arrived for two thirds (as the Java client does),
   * which leaves the last third to reach another server before the session expires.
   */
  start(timeoutMs: number): void {
    const pingAfter = timeoutMs / 3;
    const readTimeout = (timeoutMs * 2) / 3;
    const tick = () => {
      const now = performance.now();
      const silent = now - this.lastReceived;
      if (silent >= readTimeout) {
        this.close(lost(this.server, `no answer for ${Math.round(silent)} ms (2/3 of the session timeout)`));
        return;
      }
      if (now - this.#lastSent >= pingAfter) this.#write(PING_FRAME);
      const next = Math.min(pingAfter - (performance.now() - this.#lastSent), readTimeout - silent);
      // Never a zero delay: a timer must not turn into a loop.
      this.#timer = setTimeout(tick, Math.max(next, 10));
    };
    this.#timer = setTimeout(tick, pingAfter);
  }

  /** Writes a request; its answer (or failure) comes through the request's callbacks. */
  send(request: Request): void {
    if (this.#closedWith) {
      request.fail(this.#closedWith);
      return;
    }
    setXid(request.frame, request.fixedXid ?? this.#takeXid());
    this.#pending.push(request);
    this.#write(request.frame);
  }

  /** Writes an auth packet; its answer comes through {@link ConnectionHandler.authReply}. */
  sendAuth(frame: Buffer): void {
    if (!this.#closedWith) this.#write(frame);
  }

  /** Ends the connection: in-flight requests fail with `CONNECTIONLOSS` caused by `reason`. */
  close(reason: ZooKeeperError): void {
    this.#close(reason);
    this.#socket.destroy();
  }

  #whyClosed(socketError: (Error & { code?: string }) | undefined): string {
    // OpenSSL reports a refused handshake as an alert from the server, e.g. "alert bad certificate".
    if (socketError && /alert/i.test(socketError.message)) {
      return `${socketError.message} (the server refused the TLS handshake: check the client certificate and the server's trust store)`;
    }
    if (socketError) return socketError.message;
    if (this.#frames.midFrame)
      return `the server closed it in the middle of a frame (${this.#frames.describePartial()})`;
    if (this.#handshake) {
      return "the server closed it before answering the session request (a server that does not serve yet, a TLS port reached without tls, or a server behind the client's last zxid does so)";
    }
    return "the server closed it";
  }

  #takeXid(): number {
    const xid = this.#nextXid;
    // Positive xids only: the negative ones are reserved, and jute ints are 32-bit.
    this.#nextXid = xid === 0x7fffffff ? 1 : xid + 1;
    return xid;
  }

  #write(frame: Buffer): void {
    this.#lastSent = performance.now();
    // Frames written in one turn of the event loop leave in one system call (a lock's create and
    // listing, say): the socket is corked at the first and uncorked once the turn's code has run.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    this.#socket.write(frame);
  }

  readonly #uncork = () => {
    this.#corked = false;
    this.#socket.uncork();
  };

  #receive(chunk: Buffer): void {
    if (this.#closedWith) return;
    this.lastReceived = performance.now();
    try {
      for (const frame of this.#frames.push(chunk)) {
        this.#dispatch(frame);
        if (this.#closedWith) return;
      }
    } catch (error) {
      this.close(
        isZooKeeperError(error)
          ? error
          : new ZooKeeperError(
              "MARSHALLINGERROR",
              `A reply from ${this.server} could not be handled: ${error}`,
              {
                cause: error,
              },
            ),
      );
    }
  }

  #dispatch(frame: Frame): void {
    const handshake = this.#handshake;
    if (handshake) {
      this.#handshake = undefined;
      // From here on the stream is ZooKeeper's: a reply too long to read fails only its request.
      this.#frames.skipsOversized = true;
      handshake(
        readConnectResponse(new JuteReader(frame as Buffer, `session handshake answer from ${this.server}`)),
      );
      return;
    }
    if (frame instanceof OversizedFrame) {
      this.#skipped(frame);
      return;
    }
    const header = new JuteReader(frame, `reply from ${this.server}`);
    const xid = header.int("header.xid");
    const zxid = header.long("header.zxid");
    const rc = header.int("header.err");
    switch (xid) {
      case Xid.ping:
        return;
      case Xid.notification:
        this.handler.notification(readWatcherEvent(header), zxid);
        return;
      case Xid.auth:
        this.handler.authReply(rc);
        return;
    }
    const request = this.#answered(header, xid, "a reply");
    if (zxid > 0n) this.handler.zxid(zxid);
    const reader = new JuteReader(
      frame.subarray(header.offset),
      `reply to ${request.description} from ${this.server}`,
    );
    try {
      request.answer(rc, reader);
    } catch (error) {
      // This request learns why its answer was refused; the others that the close fails, that it was.
      const reason = isZooKeeperError(error)
        ? error
        : new ZooKeeperError("MARSHALLINGERROR", `${request.description}: ${error}`, { cause: error });
      request.fail(reason);
      throw reason;
    }
  }

  /**
   * A reply longer than maxPacketBytes, whose bytes the frame reader drops as they come: only its
   * request fails, and the connection (the session's watches, the replies after it) goes on. Only a
   * reply to the request due next can be one; anything else means a stream that cannot be trusted.
   */
  #skipped(frame: OversizedFrame): void {
    const header = new JuteReader(frame.head, `reply from ${this.server}`);
    const xid = header.int("header.xid");
    const zxid = header.long("header.zxid");
    const request = this.#answered(
      header,
      xid,
      `a reply of ${frame.length} bytes (more than maxPacketBytes, ${this.#maxFrameBytes})`,
    );
    if (zxid > 0n) this.handler.zxid(zxid);
    request.fail(
      new ZooKeeperError(
        "MARSHALLINGERROR",
        `${request.description}: the reply from ${this.server} takes ${frame.length} bytes, more than maxPacketBytes (${this.#maxFrameBytes}), so the client skipped it; the connection goes on. Keep fewer children (or less data) in one node, or raise maxPacketBytes.`,
        { path: request.path },
      ),
    );
  }

  /**
   * The request a reply with `xid` answers, taken off the pipeline: replies come in request order,
   * so it is the oldest one in flight. `what` names the reply in the error of one that is not.
   */
  #answered(header: JuteReader, xid: number, what: string): Request {
    const request = this.#pending[0];
    if (request === undefined)
      throw header.malformed(`${what} with xid ${xid}, but no request is waiting for one`);
    if (setXidOf(request) !== xid) {
      throw header.malformed(
        `${what} with xid ${xid}, but the next one due is ${setXidOf(request)} (${request.description})`,
      );
    }
    this.#pending.shift();
    return request;
  }

  #close(reason: ZooKeeperError): void {
    if (this.#closedWith) return;
    this.#closedWith = reason;
    clearTimeout(this.#timer);
    for (const request of this.#pending.splice(0)) {
      request.fail(
        new ZooKeeperError(
          "CONNECTIONLOSS",
          `${request.description} was in flight, so it may or may not have been applied. ${reason.message}`,
          { cause: reason },
        ),
      );
    }
    for (const listener of this.#closedListeners.splice(0)) listener(reason);
  }
}

/** The xid a request was written with. */
function setXidOf(request: Request): number {
  return request.frame.readInt32BE(4);
}

/** The error for a connection that ended: `CONNECTIONLOSS` with what happened. */
export function lost(server: string, what: string, cause?: unknown): ZooKeeperError {
  return new ZooKeeperError("CONNECTIONLOSS", `The connection to ${server} was lost: ${what}.`, { cause });
}
