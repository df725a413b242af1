// What makes an ensemble member lag (see `ZooKeeperEnsemble.lag`): the member reaches the other
// members' peer (quorum) ports through a forwarder of its own, which can hold back what the leader
// sends it. A plain delay of the whole stream would not do: the leader answers a session's
// revalidation on the same stream, behind the transactions, so a client could only reconnect to
// the member once it had them. The forwarder reads the leader's packets and lets pings and
// revalidations overtake the transactions held back, as on a follower whose commit processor is
// behind: it serves sessions at once, with an older state.
import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";

/** Quorum packet types (ZooKeeper's `Leader`): the ones that may overtake, and the sync phase's. */
const packetType = { PING: 5, REVALIDATE: 6, UPTODATE: 12, SNAP: 15 } as const;

// A snapshot after SNAP is no packet: it ends with this string, as jute writes it.
const snapshotEnd = Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from("BenWasHere")]);

/** One member's way to the others' peer ports; `lag()` holds back what their leader sends it. */
export class PeerForwarder {
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  /** This member's port for each other member's peer port. */
  readonly #ports = new Map<number, number>();
  #lagMs = 0;

  /** Listens on a free loopback port for each of `peerPorts` (of `host`), forwarding there. */
  static async start(host: string, peerPorts: readonly number[]): Promise<PeerForwarder> {
    const forwarder = new PeerForwarder();
    try {
      for (const port of peerPorts) await forwarder.#listen(host, port);
    } catch (error) {
      forwarder.stop();
      throw error;
    }
    return forwarder;
  }

  /** The port this member's configuration names for the peer port `peerPort`. */
  portFor(peerPort: number): number {
    return this.#ports.get(peerPort)!;
  }

  /** Holds the leader's transactions back by `ms` from now on; 0 lets new ones through at once. */
  lag(ms: number): void {
    this.#lagMs = ms;
  }

  stop(): void {
    for (const server of this.#servers) server.close();
    for (const socket of this.#sockets) socket.destroy();
  }

  async #listen(host: string, peerPort: number): Promise<void> {
    const server = createServer({ noDelay: true }, (learner) => this.#forward(learner, host, peerPort));
    this.#servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    // Like the proxy, the forwarder must not keep a test process alive by itself.
    server.unref();
    this.#ports.set(peerPort, (server.address() as { port: number }).port);
  }

  /** One learner connection: its own packets go as they come; the leader's through `LeaderStream`. */
  #forward(learner: Socket, host: string, peerPort: number): void {
    const leader = connectTcp({ host, port: peerPort, noDelay: true });
    const close = () => {
      learner.destroy();
      leader.destroy();
      this.#sockets.delete(learner);
      this.#sockets.delete(leader);
    };
    for (const socket of [learner, leader]) {
      // A member's links to the others must not keep a test process alive either: an ensemble
      // forgotten without stop() still lets the process end (its exit hook then kills the JVMs).
      socket.unref();
      this.#sockets.add(socket);
      socket.on("error", close);
      socket.on("close", close);
    }
    learner.pipe(leader);
    const stream = new LeaderStream(learner, () => this.#lagMs);
    leader.on("data", (chunk: Buffer) => stream.receive(chunk));
  }
}

/** The leader's side of one learner connection, cut into packets (a snapshot counts as one). */
class LeaderStream {
  #buffered: Buffer = Buffer.alloc(0);
  #inSnapshot = false;
  /** Pings and revalidations may overtake only once the learner is in sync (after UPTODATE). */
  #synced = false;
  #held = 0;
  #lastDue = 0;

  constructor(
    private readonly learner: Socket,
    private readonly lagMs: () => number,
  ) {}

  receive(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    for (;;) {
      const next = this.#inSnapshot ? snapshotLength(this.#buffered) : packetLength(this.#buffered);
      if (next === undefined) return;
      const packet = this.#buffered.subarray(0, next);
      this.#buffered = this.#buffered.subarray(next);
      const type = this.#inSnapshot ? undefined : packet.readInt32BE(0);
      this.#inSnapshot = type === packetType.SNAP;
      this.#send(packet, type);
    }
  }

  #send(packet: Buffer, type: number | undefined): void {
    const overtakes = this.#synced && (type === packetType.PING || type === packetType.REVALIDATE);
    const lag = this.lagMs();
    if (overtakes || (lag === 0 && this.#held === 0)) {
      this.#write(packet, type);
      return;
    }
    // Held packets keep their order among themselves, whatever the lag was when each came.
    const due = Math.max(Date.now() + lag, this.#lastDue);
    this.#lastDue = due;
    this.#held++;
    setTimeout(() => {
      this.#held--;
      this.#write(packet, type);
    }, due - Date.now()).unref();
  }

  #write(packet: Buffer, type: number | undefined): void {
    if (type === packetType.UPTODATE) this.#synced = true;
    if (!this.learner.destroyed) this.learner.write(packet);
  }
}

/**
 * The length of the quorum packet at the start of `buffer`, once all of it is there: type (int),
 * zxid (long), data (int length, -1 for none, and bytes), authinfo (int count, -1 for none, and
 * each id's scheme and id as strings).
 */
function packetLength(buffer: Buffer): number | undefined {
  let at = 12;
  const field = () => {
    if (buffer.length < at + 4) return false;
    const length = buffer.readInt32BE(at);
    at += 4 + Math.max(length, 0);
    return buffer.length >= at;
  };
  if (!field()) return undefined;
  if (buffer.length < at + 4) return undefined;
  const ids = buffer.readInt32BE(at);
  at += 4;
  for (let i = 0; i < ids; i++) if (!field() || !field()) return undefined;
  return at;
}

function snapshotLength(buffer: Buffer): number | undefined {
  const end = buffer.indexOf(snapshotEnd);
  return end === -1 ? undefined : end + snapshotEnd.length;
}
