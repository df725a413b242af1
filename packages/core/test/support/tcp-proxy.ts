// A TCP proxy between a ZooKeeper client and server that can lose a create's reply: it forwards
// the request, waits until the server has answered it, and then drops the connection instead of
// relaying the answer, as a network failure at the worst moment would.
import { connect, createServer, type Server, type Socket } from "node:net";

// Request types of the creates (ZooDefs.OpCode): create, create2, createContainer, createTTL.
const CREATE_OPS = new Set([1, 15, 19, 21]);

/** What happened to the create whose reply was dropped. */
export interface DroppedReply {
  /** The server's result code (0: created). */
  err: number;
  /** The path the server created, when it did. */
  path: string | undefined;
}

interface Drop {
  pathIncludes: string;
  /** Whether the create reaches the server (only its reply is lost) or is lost itself. */
  reachServer: boolean;
  thenBlock: boolean;
  resolve: (reply: DroppedReply | undefined) => void;
}

/** Splits a stream of ZooKeeper frames (a 4-byte length, then the body) into whole frames. */
class Framer {
  #pending = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    const frames: Buffer[] = [];
    while (this.#pending.length >= 4) {
      const length = 4 + this.#pending.readInt32BE(0);
      if (this.#pending.length < length) break;
      frames.push(this.#pending.subarray(0, length));
      this.#pending = this.#pending.subarray(length);
    }
    return frames;
  }
}

const readString = (frame: Buffer, offset: number) => {
  const length = frame.readInt32BE(offset);
  return length < 0 ? undefined : frame.toString("utf8", offset + 4, offset + 4 + length);
};

export class ZkProxy {
  #drop: Drop | undefined;
  #blocked = false;
  #frozen = false;
  readonly #sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** A proxy on a free loopback port to the ZooKeeper server at `host:port`. */
  static async start(host: string, port: number): Promise<ZkProxy> {
    let proxy: ZkProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, host, port));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("unexpected proxy address");
    proxy = new ZkProxy(server, address.port);
    return proxy;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  /**
   * Arms the proxy: the next create of a path containing `pathIncludes` reaches the server, but the
   * connection is dropped before the answer reaches the client (with `thenBlock`, new connections are
   * refused until {@link unblock}). Resolves with the server's answer that the client never saw.
   */
  dropNextCreateReply(pathIncludes: string, { thenBlock = false } = {}): Promise<DroppedReply> {
    return new Promise((resolve) => {
      this.#drop = { pathIncludes, reachServer: true, thenBlock, resolve: (reply) => resolve(reply!) };
    });
  }

  /** Like {@link dropNextCreateReply}, but the create itself is lost: the server never sees it. */
  dropNextCreateRequest(pathIncludes: string): Promise<void> {
    return new Promise((resolve) => {
      this.#drop = { pathIncludes, reachServer: false, thenBlock: false, resolve: () => resolve() };
    });
  }

  /** Drops every connection and refuses new ones until {@link unblock}. */
  block(): void {
    this.#blocked = true;
    for (const socket of this.#sockets) socket.destroy();
  }

  unblock(): void {
    this.#blocked = false;
  }

  /**
   * A silent partition: connections stay open (new ones too) but nothing passes either way, so the
   * client hears nothing until its own timeouts fire, while the server's session clock runs on.
   */
  freeze(): void {
    this.#frozen = true;
  }

  /** Ends {@link freeze}: drops the connections it starved (their streams lost bytes) and lets new ones through. */
  thaw(): void {
    this.#frozen = false;
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.#blocked) {
      client.destroy();
      return;
    }
    const upstream = connect({ host, port });
    const both = [client, upstream];
    for (const socket of both) {
      this.#sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        this.#sockets.delete(socket);
        for (const other of both) other.destroy();
      });
    }
    // The first frame each way is the session handshake, without a request header.
    let handshakeSent = false;
    let handshakeAnswered = false;
    let lost: { xid: number; drop: Drop } | undefined;
    const requests = new Framer();
    const replies = new Framer();

    client.on("data", (chunk: Buffer) => {
      if (this.#frozen) return;
      for (const frame of requests.push(chunk)) {
        if (lost) return; // the connection is as good as gone: nothing more reaches the server
        const drop = this.#drop;
        if (
          handshakeSent &&
          drop &&
          CREATE_OPS.has(frame.readInt32BE(8)) &&
          readString(frame, 12)?.includes(drop.pathIncludes)
        ) {
          this.#drop = undefined;
          if (!drop.reachServer) {
            for (const socket of both) socket.destroy();
            drop.resolve(undefined);
            return;
          }
          lost = { xid: frame.readInt32BE(4), drop };
        }
        upstream.write(frame);
        handshakeSent = true;
      }
    });
    upstream.on("data", (chunk: Buffer) => {
      if (this.#frozen) return;
      for (const frame of replies.push(chunk)) {
        if (!handshakeAnswered) {
          handshakeAnswered = true;
        } else if (lost) {
          // Replies come in request order: swallow everything until the create's own answer.
          if (frame.readInt32BE(4) !== lost.xid) continue;
          const err = frame.readInt32BE(16);
          if (lost.drop.thenBlock) this.#blocked = true;
          for (const socket of both) socket.destroy();
          lost.drop.resolve({ err, path: err === 0 ? readString(frame, 20) : undefined });
          return;
        }
        client.write(frame);
      }
    });
  }
}
