// A TCP proxy between a client and a ZooKeeper server that can cut the network or silence it.
import { connect, createServer, type Server, type Socket } from "node:net";

/** A loopback port that was free a moment ago (for a server to come, or for nobody to listen on). */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export class TcpProxy {
  #mode: "open" | "cut" | "frozen" = "open";
  readonly #sockets = new Set<Socket>();
  /** How many connections clients opened through (or against) the proxy. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** A proxy on a free loopback port to `host:port`. */
  static async start(host: string, port: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, host, port));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("unexpected proxy address");
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** A partition: every connection drops, and new ones are accepted only to be dropped at once. */
  cut(): void {
    this.#mode = "cut";
    for (const socket of this.#sockets) socket.destroy();
  }

  /** A silent partition: connections stay open (new ones too), but no byte passes either way. */
  freeze(): void {
    this.#mode = "frozen";
  }

  /** Heals the network; connections that a freeze starved are dropped (their streams lost bytes). */
  restore(): void {
    if (this.#mode === "frozen") for (const socket of this.#sockets) socket.destroy();
    this.#mode = "open";
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket, host: string, port: number): void {
    this.accepted++;
    if (this.#mode === "cut") {
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
    client.on("data", (chunk: Buffer) => {
      if (this.#mode === "open") upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (this.#mode === "open") client.write(chunk);
    });
  }
}
