import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ZooKeeperTestingError } from "./errors.js";
import { findZooKeeper } from "./find-zookeeper.js";
import { fourLetter } from "./four-letter.js";
import { freePorts, JvmServer, type ZooKeeperServerOptions } from "./jvm-server.js";
import { PeerForwarder } from "./peer-lag.js";
import { removeDir, trackDir } from "./registry.js";

/** Options of {@link startEnsemble}. */
export interface StartEnsembleOptions extends ZooKeeperServerOptions {
  /** Number of servers. Default 3. */
  size?: number;
  /**
   * Lets {@link ZooKeeperEnsemble.lag} make a follower lag: each member reaches the others' peer
   * (quorum) ports through a forwarder of its own, which its `zoo.cfg` names instead of their
   * ports. `syncLimit` and `initLimit` default to 20 ticks here, so that a lag may last up to 10 s
   * at the default `tickTime`, and a lagging follower whose link drops can still rejoin (its
   * handshake with the leader is held back too). Default false.
   */
  laggable?: boolean;
}

/** One server of a {@link ZooKeeperEnsemble}. */
export interface EnsembleMember {
  /** The server's `myid`, 1-based. */
  readonly id: number;
  readonly host: string;
  /** Client port. */
  readonly port: number;
  /** `127.0.0.1:<port>` of this server alone. */
  readonly connectString: string;
  /** The JVM's pid while it runs, else the pid it last had. */
  readonly pid: number | undefined;
  readonly running: boolean;
  readonly paused: boolean;
  /** Its directory (`zoo.cfg`, `data/`, `zookeeper.log`). */
  readonly dir: string;
  logTail(lines?: number): string;
}

/**
 * A member, or its index in {@link ZooKeeperEnsemble.members} (0-based: index 0 is the member with id 1).
 */
export type MemberRef = number | EnsembleMember;

/** A running ZooKeeper quorum on loopback; see {@link startEnsemble}. */
export interface ZooKeeperEnsemble extends AsyncDisposable {
  /** Every member's `host:port`, comma-separated, for a ZooKeeper client. */
  readonly connectString: string;
  readonly members: readonly EnsembleMember[];
  /** Asks every running member with `srvr`; the one that answers "Mode: leader", if any. */
  leader(): Promise<EnsembleMember | undefined>;
  /** SIGKILLs a member, like a crash. */
  kill(member: MemberRef): Promise<void>;
  /** Stops a member cleanly (SIGTERM). */
  stopMember(member: MemberRef): Promise<void>;
  /** (Re)starts a member with its data and resolves once it serves again (it needs a quorum to). */
  restart(member: MemberRef): Promise<void>;
  /** Freezes a member's JVM (SIGSTOP). */
  pause(member: MemberRef): void;
  /** Lets a paused member run again (SIGCONT). */
  resume(member: MemberRef): void;
  /**
   * Makes a follower apply the leader's transactions `ms` late, from now on: proposals, commits and
   * syncs reach it that much later, in order, while pings and session revalidations pass at once.
   * It goes on serving its sessions, and takes sessions that move to it, with an older state: a
   * write acknowledged through another member is not yet visible there, until a `sync` (which
   * queues behind the writes) returns. `ms: 0` ends the lag; what is held back still arrives in
   * order. Needs `laggable: true`; `ms` must stay below `syncLimit × tickTime`, after which the
   * leader drops a follower that has not acknowledged a proposal (and below `initLimit × tickTime`,
   * within which a follower that rejoins must finish its handshake). Rejects with `INVALID_ARGUMENT`
   * for the leader (its followers' links are theirs to lag).
   *
   * @example
   * ```ts
   * const ensemble = await startEnsemble({ laggable: true });
   * const leader = await waitFor(() => ensemble.leader());
   * const follower = ensemble.members.find((member) => member !== leader)!;
   * await ensemble.lag(follower, 3000); // a client there reads 3 s old state, unless it syncs
   * ```
   */
  lag(member: MemberRef, ms: number): Promise<void>;
  /** Stops every member and removes the ensemble's directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a real ZooKeeper quorum on loopback: `size` servers with their own client, peer and election
 * ports and `myid` files, and resolves once every member serves as leader or follower. Everything is
 * killed and removed when the process exits, even if `stop()` is never called.
 *
 * @example
 * ```ts
 * const ensemble = await startEnsemble({ size: 3 });
 * try {
 *   const leader = await waitFor(() => ensemble.leader());
 *   await ensemble.kill(leader); // or ensemble.kill(0) for the first member
 *   const next = await waitFor(async () => {
 *     const current = await ensemble.leader();
 *     return current && current.id !== leader.id && current;
 *   }, { timeoutMs: 30_000 });
 *   await ensemble.restart(leader);
 * } finally {
 *   await ensemble.stop();
 * }
 * ```
 */
export async function startEnsemble(options: StartEnsembleOptions = {}): Promise<ZooKeeperEnsemble> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1) {
    throw new ZooKeeperTestingError(
      "INVALID_ARGUMENT",
      `startEnsemble: size must be a positive integer, got ${size}`,
    );
  }
  const installation = options.installation ?? findZooKeeper();
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const serverOptions = options.laggable
    ? { ...options, config: { syncLimit: 20, initLimit: 20, ...options.config } }
    : options;
  const host = "127.0.0.1";
  const dir = mkdtempSync(join(options.tmpDir ?? tmpdir(), "zk-testing-ensemble-"));
  trackDir(dir);
  const jvms: JvmServer[] = [];
  const forwarders: PeerForwarder[] = [];
  try {
    const ports = await freePorts(3 * size);
    const peerPort = (i: number) => ports[3 * i + 1]!;
    for (let i = 0; i < size; i++) {
      const othersPeerPorts = ports.filter((_, k) => k % 3 === 1 && k !== 3 * i + 1);
      const forwarder = options.laggable ? await PeerForwarder.start(host, othersPeerPorts) : undefined;
      if (forwarder) forwarders.push(forwarder);
      // A member reaches the others' peer ports where its own configuration says: through its forwarder.
      const servers = Array.from({ length: size }, (_, j) => {
        const peer = forwarder && j !== i ? forwarder.portFor(peerPort(j)) : peerPort(j);
        return `server.${j + 1}=${host}:${peer}:${ports[3 * j + 2]}`;
      });
      const spec = {
        dir: join(dir, `member-${i + 1}`),
        host,
        clientPort: ports[3 * i]!,
        quorum: { myid: i + 1, servers },
      };
      jvms.push(new JvmServer(installation, spec, serverOptions));
    }
    for (const jvm of jvms) jvm.start();
    await Promise.all(jvms.map((jvm) => jvm.waitUntilServing(startTimeoutMs)));
  } catch (error) {
    await Promise.all(jvms.map((jvm) => jvm.kill()));
    for (const forwarder of forwarders) forwarder.stop();
    removeDir(dir);
    throw error;
  }
  // zoo.cfg's own tickTime, when `config` gives one, is the one the members run with.
  const config = serverOptions.config ?? {};
  const tickTime = Number(config.tickTime ?? serverOptions.tickTime ?? 500);
  const maxLagMs = options.laggable
    ? tickTime * Math.min(Number(config.syncLimit), Number(config.initLimit))
    : undefined;
  return new Ensemble(dir, jvms, startTimeoutMs, forwarders, maxLagMs);
}

class Member implements EnsembleMember {
  constructor(
    readonly id: number,
    readonly jvm: JvmServer,
  ) {}
  get host() {
    return this.jvm.host;
  }
  get port() {
    return this.jvm.port;
  }
  get connectString() {
    return this.jvm.connectString;
  }
  get pid() {
    return this.jvm.pid;
  }
  get running() {
    return this.jvm.running;
  }
  get paused() {
    return this.jvm.paused;
  }
  get dir() {
    return this.jvm.dir;
  }
  logTail(lines?: number) {
    return this.jvm.logTail(lines);
  }
  toJSON() {
    return { id: this.id, connectString: this.connectString, pid: this.pid, running: this.running };
  }
}

class Ensemble implements ZooKeeperEnsemble {
  readonly members: readonly Member[];
  readonly connectString: string;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly dir: string,
    jvms: JvmServer[],
    private readonly startTimeoutMs: number,
    /** Each member's forwarder to the others' peer ports, when the ensemble is laggable. */
    private readonly forwarders: readonly PeerForwarder[],
    /** `min(syncLimit, initLimit) × tickTime`, when the ensemble is laggable. */
    private readonly maxLagMs: number | undefined,
  ) {
    this.members = jvms.map((jvm, i) => new Member(i + 1, jvm));
    this.connectString = this.members.map((member) => member.connectString).join(",");
  }

  async leader(): Promise<EnsembleMember | undefined> {
    const modes = await Promise.all(
      this.members.map(async (member) => {
        if (!member.running || member.paused) return undefined;
        try {
          const answer = await fourLetter(member.host, member.port, "srvr", { timeoutMs: 1000 });
          return /^Mode: leader$/m.test(answer) ? member : undefined;
        } catch {
          return undefined;
        }
      }),
    );
    return modes.find((member) => member !== undefined);
  }

  async kill(ref: MemberRef): Promise<void> {
    await this.member(ref).jvm.kill();
  }

  async stopMember(ref: MemberRef): Promise<void> {
    await this.member(ref).jvm.terminate();
  }

  async restart(ref: MemberRef): Promise<void> {
    const { jvm } = this.member(ref);
    await jvm.terminate();
    jvm.start();
    await jvm.waitUntilServing(this.startTimeoutMs);
  }

  pause(ref: MemberRef): void {
    this.member(ref).jvm.pause();
  }

  resume(ref: MemberRef): void {
    this.member(ref).jvm.resume();
  }

  async lag(ref: MemberRef, ms: number): Promise<void> {
    const member = this.member(ref);
    if (this.maxLagMs === undefined) {
      throw new ZooKeeperTestingError("INVALID_ARGUMENT", "lag: start the ensemble with { laggable: true }");
    }
    if (!Number.isFinite(ms) || ms < 0 || ms >= this.maxLagMs) {
      throw new ZooKeeperTestingError(
        "INVALID_ARGUMENT",
        `lag: ms must be >= 0 and below min(syncLimit, initLimit) × tickTime (${this.maxLagMs} ms), after which the leader drops the follower; got ${ms}`,
      );
    }
    if (ms > 0 && (await this.leader()) === member) {
      throw new ZooKeeperTestingError(
        "INVALID_ARGUMENT",
        `lag: member ${member.id} leads; only a follower can lag behind the leader`,
      );
    }
    this.forwarders[member.id - 1]!.lag(ms);
  }

  stop(): Promise<void> {
    this.stopping ??= Promise.all(this.members.map((member) => member.jvm.shutdown())).then(() => {
      for (const forwarder of this.forwarders) forwarder.stop();
      removeDir(this.dir);
    });
    return this.stopping;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private member(ref: MemberRef): Member {
    if (this.stopping) throw new ZooKeeperTestingError("NOT_RUNNING", "The ensemble was stopped");
    const member =
      typeof ref === "number" ? this.members[ref] : this.members.find((candidate) => candidate === ref);
    if (member === undefined) {
      const what =
        typeof ref === "number" ? `index ${ref} (indexes are 0..${this.members.length - 1})` : `id ${ref.id}`;
      throw new ZooKeeperTestingError("INVALID_ARGUMENT", `No such member of this ensemble: ${what}`);
    }
    return member;
  }
}
