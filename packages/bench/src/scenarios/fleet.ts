import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { childExecArgv, packageDir } from "../child.js";
import type { CpuMeter } from "../cpu-time.js";
import {
  type FleetKind,
  type FromChild,
  monotonicUs,
  type SessionRecord,
  type ToChild,
} from "./fleet-protocol.js";
import { fromSharingHolds, type Sharing, type SharingSample } from "./sharing.js";
import { type ContendedSample, type CoreName, coreNames } from "./types.js";

const childFile = fileURLToPath(new URL("./fleet-child.ts", import.meta.url));

type Done = Extract<FromChild, { type: "done" }>;

/** One process of the fleet, answering one command at a time. */
class Member {
  readonly up: Promise<FromChild>;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  #stderr = "";
  #pending: { resolve: (message: FromChild) => void; reject: (error: Error) => void } | undefined;

  constructor() {
    this.#child = fork(childFile, [], {
      execArgv: childExecArgv(),
      cwd: packageDir,
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.#child.stderr!.on("data", (chunk) => {
      this.#stderr = (this.#stderr + chunk).slice(-4000);
    });
    this.#child.on("message", (message: FromChild) => {
      const pending = this.#pending;
      this.#pending = undefined;
      if (message.type === "error") pending?.reject(new Error(`A fleet process failed: ${message.message}`));
      else pending?.resolve(message);
    });
    this.#exited = new Promise((resolve) =>
      this.#child.once("exit", (code, signal) => {
        this.#pending?.reject(new Error(`A fleet process exited (${code ?? signal}):\n${this.#stderr}`));
        this.#pending = undefined;
        resolve();
      }),
    );
    this.up = this.#next();
  }

  ask(message: ToChild): Promise<FromChild> {
    const reply = this.#next();
    this.#child.send(message);
    return reply;
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    // A child ends when its IPC channel closes; one that does not in time is killed.
    this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 5000);
    await this.#exited;
    clearTimeout(timer);
  }

  #next(): Promise<FromChild> {
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
    });
  }
}

/** What the sessions of a `cycle` command measured together. */
export interface FleetCycleSample {
  elapsedMs: number;
  /** Every acquire+release cycle of every session, in milliseconds. */
  cyclesMs: number[];
  /** User + system CPU time of the fleet's processes over the loop. */
  clientCpuMs: number;
}

/**
 * A pool of Node processes that run lock sessions, spread over every core as a fleet of application
 * processes would be (rather than K sessions on one event loop). The processes start once and stay
 * up between commands, since starting one costs far more than a measurement. The npm `zookeeper`
 * addon aborts the process as soon as a second thread uses it (it keeps per-isolate handles in
 * globals); @zk-dist-lock/client alone could run in workers, which measured no cheaper at K = 8 and
 * a little at K = 32, still short of 1.2× Curator (see the README); processes measure both
 * clients the same way.
 */
export class Fleet {
  readonly #members: Member[] = [];

  /**
   * Starts `size` processes and warms each one up, as a process of a fleet that has served for a
   * while is: three sessions of the lock on each client make `holds` holds between them on a
   * resource of its own under `root`, then a quarter as many of a shared lock and of a semaphore. V8
   * compiles core's code only after it ran a while: in one process, CPU per hold fell from about
   * 750 to 200 µs (@zk-dist-lock/client) and from 600 to 400 µs (the binding) over its first 2,000
   * to 3,000 holds. Each process makes only its share of a measurement's holds (a thirty-second of
   * them at K = 32), so without this most of its code would still run in the interpreter. With
   * `holds` 0 it does not warm up.
   *
   * Call it before this process opens any ZooKeeper client. The npm `zookeeper` client opens its
   * sockets without close-on-exec, so a child inherits every socket open when it starts; when this
   * process then closes such a client, the socket lives on in the child, libuv keeps being told it
   * is readable, and this process spins at full CPU until the child exits.
   */
  async start(size: number, connect: string, root: string, holds: number): Promise<void> {
    const members = Array.from({ length: size }, () => new Member());
    this.#members.push(...members);
    await Promise.all(members.map((member) => member.up));
    if (holds === 0) return;
    const shared = Math.ceil(holds / 4);
    const warmUps: { name: string; impl: CoreName; holds: number; sharing?: Sharing }[] = [
      ...coreNames.flatMap((impl) => [
        { name: impl, impl, holds },
        {
          name: `${impl}-read-mostly`,
          impl,
          holds: shared,
          sharing: { kind: "read-mostly", seed: 0, writeShare: 0.5 } as const,
        },
        {
          name: `${impl}-semaphore`,
          impl,
          holds: shared,
          sharing: { kind: "semaphore", permits: 1, holdMs: 1 } as const,
        },
      ]),
    ];
    await Promise.all(
      members.map(async (member, i) => {
        for (const { name, impl, holds, sharing } of warmUps) {
          const path = `${root}/warm-up-${i}-${name}/lock`;
          const paths = [path, path, path];
          await member.ask({ type: "open", connect, impl, kind: "contend", paths, sharing });
          await member.ask({ type: "go", holds });
          await member.ask({ type: "close" });
        }
      }),
    );
  }

  /**
   * `sessions` sessions of `impl`, each in its own process, contending for the lock at `path` for
   * `durationMs`. Holds are recorded on the machine's monotonic clock and merged afterwards: the
   * overlaps and handoffs are those of the in-process scenario, found from the records. `meter` runs
   * while the sessions loop.
   */
  async contend(
    connect: string,
    impl: CoreName,
    path: string,
    sessions: number,
    durationMs: number,
    meter: CpuMeter,
  ): Promise<ContendedSample> {
    const paths = Array.from({ length: sessions }, () => [path]);
    const { replies, startUs } = await this.#run(connect, impl, "contend", paths, durationMs, meter);
    const records = replies.flatMap((reply) => reply.sessions);
    return { ...fromHolds(records), ...loopFigures(replies, startUs) };
  }

  /**
   * `sessions` sessions of core's shared locks or semaphore (`sharing`) on the client of `impl`, each
   * in its own process, taking turns at the resource at `path` for `durationMs`; the recorded holds
   * go through the one-event-loop scenario's witness. `meter` runs while the sessions loop.
   */
  async share(
    connect: string,
    impl: CoreName,
    path: string,
    sessions: number,
    durationMs: number,
    sharing: Sharing,
    meter: CpuMeter,
  ): Promise<SharingSample> {
    const paths = Array.from({ length: sessions }, () => [path]);
    const { replies, startUs } = await this.#run(connect, impl, "contend", paths, durationMs, meter, sharing);
    const records = replies.flatMap((reply) => reply.sessions);
    return { ...fromSharingHolds(records, sharing), ...loopFigures(replies, startUs) };
  }

  /** `paths[i]` are the resources of process i's sessions of `impl`, one session each, looping acquire+release. */
  async cycle(
    connect: string,
    impl: CoreName,
    paths: string[][],
    durationMs: number,
  ): Promise<FleetCycleSample> {
    const { replies, startUs } = await this.#run(connect, impl, "cycle", paths, durationMs);
    const { elapsedMs, cpuMs } = loopFigures(replies, startUs);
    return {
      elapsedMs,
      cyclesMs: replies.flatMap((reply) => reply.sessions.flatMap((s) => s.cyclesMs)),
      clientCpuMs: cpuMs,
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.#members.splice(0).map((member) => member.close()));
  }

  async #run(
    connect: string,
    impl: CoreName,
    kind: FleetKind,
    paths: string[][],
    durationMs: number,
    meter?: CpuMeter,
    sharing?: Sharing,
  ): Promise<{ replies: Done[]; startUs: number }> {
    if (this.#members.length < paths.length)
      throw new Error(
        `The fleet has ${this.#members.length} processes; ${paths.length} are needed (start() it first).`,
      );
    const members = this.#members.slice(0, paths.length);
    await Promise.all(
      members.map((member, i) =>
        member.ask({
          type: "open",
          connect,
          impl,
          kind,
          paths: paths[i]!,
          sharing: sharing && seedOf(sharing, i),
        }),
      ),
    );
    meter?.start();
    const startUs = monotonicUs();
    const deadlineUs = startUs + durationMs * 1000;
    try {
      const replies = (await Promise.all(
        members.map((member) => member.ask({ type: "go", deadlineUs })),
      )) as Done[];
      meter?.stop();
      return { replies, startUs };
    } finally {
      // Closed before the next measurement opens, so that it does not overlap their ends; after a
      // failed loop too, so that no session of it stays open with a node.
      await Promise.allSettled(members.map((member) => member.ask({ type: "close" })));
    }
  }
}

/**
 * Overlaps, waits, handoffs and fencing-token order from every session's holds. In grant order (by
 * the time acquire() resolved), a hold overlaps when it began before an earlier one ended; its
 * handoff is the time since the latest release() call before it, if that came after its acquire()
 * call; its token must be above the one granted before it.
 */
export function fromHolds(records: readonly SessionRecord[]): Omit<ContendedSample, "elapsedMs" | "cpuMs"> {
  const holds = records.flatMap((record, session) =>
    record.tokens.map((token, i) => ({
      session,
      t0: record.holds[3 * i]!,
      t1: record.holds[3 * i + 1]!,
      t2: record.holds[3 * i + 2]!,
      token: BigInt(token),
    })),
  );
  holds.sort((a, b) => a.t1 - b.t1);
  const releases = holds.map((hold) => hold.t2).sort((a, b) => a - b);
  let overlaps = 0;
  let tokenViolations = 0;
  let heldUntil = Number.NEGATIVE_INFINITY;
  let released = 0; // index into releases: those before the current hold's grant
  const waitsMs: number[] = [];
  const handoffsMs: number[] = [];
  holds.forEach((hold, i) => {
    if (hold.t1 < heldUntil) overlaps++;
    heldUntil = Math.max(heldUntil, hold.t2);
    if (i > 0 && hold.token <= holds[i - 1]!.token) tokenViolations++;
    while (released < releases.length && releases[released]! < hold.t1) released++;
    const lastRelease = released > 0 ? releases[released - 1]! : Number.NEGATIVE_INFINITY;
    waitsMs.push((hold.t1 - hold.t0) / 1000);
    if (lastRelease > hold.t0) handoffsMs.push((hold.t1 - lastRelease) / 1000);
  });
  const perSession = records.map((record) => record.tokens.length);
  return { overlaps, tokenViolations, perSession, waitsMs, handoffsMs };
}

/** The loops' time, until the last process stopped, and the CPU time of every process in them. */
const loopFigures = (replies: readonly Done[], startUs: number) => ({
  elapsedMs: (Math.max(...replies.map((r) => r.finishUs)) - startUs) / 1000,
  cpuMs: replies.reduce((sum, reply) => sum + reply.cpuMs, 0),
});

/** Process i's sessions draw their read-mostly choices as the one-event-loop scenario's session i. */
const seedOf = (sharing: Sharing, i: number): Sharing =>
  sharing.kind === "read-mostly" ? { ...sharing, seed: sharing.seed + i } : sharing;
