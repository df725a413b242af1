// A port that passes connections through to a server, but can hold one open without ever answering
// it: what a ZooKeeper server does with a connection it refuses while it starts (ZOOKEEPER-5051: the
// close fails, the socket stays open). The testing kit's proxy closes what it starved once it heals.
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from "node:net";
import { parseConnectString } from "../../src/connect-string.js";

export interface HoldingPort {
  /** `127.0.0.1:<port>`, for a connect string. */
  readonly connectString: string;
  /** How many connections were held unanswered. */
  readonly held: number;
  /** The next connection is held: accepted, then neither answered nor closed. */
  holdNext(): void;
  /** Closes the connections passed through, as a server that goes away would. */
  cut(): void;
  close(): Promise<void>;
}

/** A {@link HoldingPort} in front of the first server of `target`. */
export async function holdingPort(target: string): Promise<HoldingPort> {
  const { host, port } = parseConnectString(target).servers[0]!;
  const held: Socket[] = [];
  const passed = new Set<Socket>();
  let holdNext = false;
  const server = createServer((client) => {
    if (holdNext) {
      holdNext = false;
      held.push(client);
      return;
    }
    const upstream = connectTcp(port, host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      passed.add(from);
      from.pipe(to);
      from.on("error", () => to.destroy());
      from.on("close", () => {
        passed.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    connectString: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get held() {
      return held.length;
    },
    holdNext: () => {
      holdNext = true;
    },
    cut: () => {
      for (const socket of passed) socket.destroy();
    },
    close: () => {
      for (const socket of [...held, ...passed]) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
