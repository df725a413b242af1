import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ZooKeeperTestingError } from "./errors.js";
import { findZooKeeper } from "./find-zookeeper.js";
import { fourLetter } from "./four-letter.js";
import { freePorts, JvmServer, type ZooKeeperServerOptions } from "./jvm-server.js";
import { removeDir, trackDir } from "./registry.js";

/** Options of {@link startEnsemble}. */
export interface StartEnsembleOptions extends ZooKeeperServerOptions {
  /** Number of servers. Default 3. */
  size?: number;
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
  const host = "127.0.0.1";
  const dir = mkdtempSync(join(options.tmpDir ?? tmpdir(), "zk-testing-ensemble-"));
  trackDir(dir);
  const jvms: JvmServer[] = [];
  try {
    const ports = await freePorts(3 * size);
    const servers = Array.from(
      { length: size },
      (_, i) => `server.${i + 1}=${host}:${ports[3 * i + 1]}:${ports[3 * i + 2]}`,
    );
    for (let i = 0; i < size; i++) {
      const spec = {
        dir: join(dir, `member-${i + 1}`),
        host,
        clientPort: ports[3 * i]!,
        quorum: { myid: i + 1, servers },
      };
      jvms.push(new JvmServer(installation, spec, options));
    }
    for (const jvm of jvms) jvm.start();
    await Promise.all(jvms.map((jvm) => jvm.waitUntilServing(startTimeoutMs)));
  } catch (error) {
    await Promise.all(jvms.map((jvm) => jvm.kill()));
    removeDir(dir);
    throw error;
  }
  return new Ensemble(dir, jvms, startTimeoutMs);
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

  stop(): Promise<void> {
    this.stopping ??= Promise.all(this.members.map((member) => member.jvm.shutdown())).then(() =>
      removeDir(this.dir),
    );
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
