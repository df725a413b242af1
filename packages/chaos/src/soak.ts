// The soak's main process: the ensemble, one proxy and one worker process per slot, the fenced store
// they write to, and the record of everything they report, checked as it comes in.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { encodeResource } from "@zk-dist-lock/core";
import {
  connectZooKeeper,
  type PausedProcess,
  pauseProcess,
  startEnsemble,
  startProxy,
  waitFor,
  type ZooKeeperEnsemble,
  type ZooKeeperProxy,
} from "@zk-dist-lock/testing";
import type ZooKeeper from "zookeeper";
import { now } from "./clock.js";
import type { AcquireRecord, FaultRecord, Freeze, Hold, HoldEventKind } from "./history.js";
import type { Command, Report, StoreAnswer, WorkerConfig } from "./protocol.js";
import { FencedStore } from "./store.js";

/** How a soak runs. */
export interface SoakSettings {
  seconds: number;
  seed: number;
  workers: number;
  resources: string[];
  sessionTimeoutMs: number;
  acquireTimeoutMs: number;
  /** How much longer than its timeout an acquire may take before it counts as hung. */
  marginMs: number;
  /** A worker whose event loop stops this long is frozen, as far as the checks are concerned. */
  stallMs: number;
  tickTime: number;
  rootDir: string;
}

const workerScript = fileURLToPath(new URL("./worker.ts", import.meta.url));
const workerExecArgv = ["--conditions=@zk-dist-lock/source", "--import", import.meta.resolve("tsx")];

/** One worker's place: its proxy, and the process that currently fills it. */
export class Slot {
  child: ChildProcess | undefined;
  incarnation = 0;
  paused: PausedProcess | undefined;
  /** The hold it reported last and has not released. */
  holding: Hold | undefined;
  /** Its last holds, to which a late stall report may apply. */
  readonly recent: Hold[] = [];
  acquiring: { resource: string; since: number; flagged: boolean } | undefined;
  lastBeat = 0;
  /** Set once we killed it or told it to stop: its exit is expected. */
  expectedExit = false;
  exited: Promise<void> = Promise.resolve();

  constructor(
    readonly id: number,
    readonly proxy: ZooKeeperProxy,
  ) {}

  /** This incarnation's name in the history: `w2.3` is slot 2 after two restarts. */
  get name(): string {
    return `w${this.id}.${this.incarnation}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
}

export class Soak {
  readonly store: FencedStore;
  readonly holds: Hold[] = [];
  readonly acquires: AcquireRecord[] = [];
  readonly freezes: Freeze[] = [];
  readonly faults: FaultRecord[] = [];
  readonly violations: { at: number; message: string }[] = [];
  readonly counts = new Map<string, number>();
  readonly slots: Slot[];
  readonly startedAt = now();
  /** Armed by the schedule: the next worker to send a write is paused for this long first. */
  pauseNextWriter: { ms: number; paused: (slot: Slot) => void; done: (slot: Slot) => void } | undefined;
  #hangCheck: ReturnType<typeof setInterval> | undefined;
  readonly #pausedSince = new Map<Slot, number>();
  #stopping = false;

  private constructor(
    readonly settings: SoakSettings,
    readonly ensemble: ZooKeeperEnsemble,
    proxies: ZooKeeperProxy[],
    private readonly log: (line: string) => void,
  ) {
    this.store = new FencedStore(settings.resources, (violation) =>
      this.violate(`store, resource ${violation.resource}: ${violation.message}`, violation.at),
    );
    this.slots = proxies.map((proxy, i) => new Slot(i + 1, proxy));
  }

  /** Starts the ensemble, the proxies and the workers; resolves once every worker has a session. */
  static async start(settings: SoakSettings, log: (line: string) => void): Promise<Soak> {
    const ensemble = await startEnsemble({ size: 3, tickTime: settings.tickTime });
    const proxies = await Promise.all(Array.from({ length: settings.workers }, () => startProxy(ensemble)));
    const soak = new Soak(settings, ensemble, proxies, log);
    await Promise.all(soak.slots.map((slot) => soak.startWorker(slot)));
    soak.#hangCheck = setInterval(() => soak.#checkHangs(), 500);
    return soak;
  }

  /** Seconds since the start, for the log. */
  elapsed(at = now()): string {
    return `${((at - this.startedAt) / 1000).toFixed(1).padStart(6)}s`;
  }

  count(name: string, by = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + by);
  }

  violate(message: string, at = now()): void {
    this.violations.push({ at, message });
    this.log(`${this.elapsed(at)}  VIOLATION: ${message}`);
  }

  note(line: string): void {
    this.log(`${this.elapsed()}  ${line}`);
  }

  fault(kind: string, target: string): void {
    this.faults.push({ kind, target, at: now() });
    this.note(`${kind}: ${target}`);
  }

  /** Starts the slot's next incarnation and resolves once it has a session. */
  async startWorker(slot: Slot): Promise<void> {
    slot.incarnation++;
    slot.expectedExit = false;
    slot.holding = undefined;
    slot.acquiring = undefined;
    const config: WorkerConfig = {
      id: slot.id,
      connect: slot.proxy.connectString,
      sessionTimeoutMs: this.settings.sessionTimeoutMs,
      rootDir: this.settings.rootDir,
      resources: this.settings.resources,
      acquireTimeoutMs: this.settings.acquireTimeoutMs,
      stallMs: this.settings.stallMs,
      seed: this.settings.seed * 1000 + slot.id * 100 + slot.incarnation,
    };
    const child = fork(workerScript, [JSON.stringify(config)], {
      execArgv: workerExecArgv,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    slot.child = child;
    slot.lastBeat = now();
    const connected = new Promise<void>((resolve) => {
      child.on("message", (report: Report) => {
        if (report.type === "connected") resolve();
        this.#onReport(slot, report);
      });
    });
    slot.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        resolve();
        if (child !== slot.child || slot.expectedExit) return;
        this.violate(`worker ${slot.name} died unexpectedly (${signal ?? `exit code ${code}`})`);
        if (!this.#stopping) void this.startWorker(slot);
      }),
    );
    await Promise.race([connected, slot.exited]);
  }

  /** SIGKILLs the slot's worker, like a crash, and resolves once it is gone. */
  async killWorker(slot: Slot): Promise<void> {
    slot.expectedExit = true;
    slot.child?.kill("SIGKILL");
    const at = now();
    if (slot.holding) addEvent(slot.holding, "killed", at);
    slot.holding = undefined;
    slot.acquiring = undefined;
    slot.paused = undefined;
    await slot.exited;
  }

  /** Asks every worker to finish its cycle and close; SIGKILLs those that do not within `timeoutMs`. */
  async stopWorkers(timeoutMs: number): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#hangCheck);
    await Promise.all(
      this.slots.map(async (slot) => {
        if (!slot.running) return;
        slot.expectedExit = true;
        slot.child!.send({ type: "stop" } satisfies Command);
        const stopped = await Promise.race([
          slot.exited.then(() => true),
          new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs)),
        ]);
        if (!stopped) {
          this.violate(`worker ${slot.name} did not stop within ${timeoutMs} ms`);
          await this.killWorker(slot);
        }
      }),
    );
  }

  /**
   * Waits until no lock node is left under the resources; SIGKILLed workers' nodes go when their
   * sessions expire. Resolves with how long that took, or the nodes still there at the deadline.
   */
  async lockNodesLeft(timeoutMs: number): Promise<{ waitedMs: number; left: string[] }> {
    const client = await connectZooKeeper(this.ensemble.connectString, {
      config: { response_counter_limit: 1_000_000_000 },
    });
    const start = now();
    const list = async () => {
      const nodes: string[] = [];
      for (const resource of this.settings.resources) {
        const dir = `${this.settings.rootDir}/${encodeResource(resource)}`;
        nodes.push(...(await children(client, dir)).map((name) => `${dir}/${name}`));
      }
      return nodes;
    };
    try {
      await waitFor(async () => (await list()).length === 0, { timeoutMs, intervalMs: 200 });
      return { waitedMs: now() - start, left: [] };
    } catch {
      return { waitedMs: now() - start, left: await list() };
    } finally {
      client.close();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#hangCheck);
    await Promise.all(this.slots.map((slot) => slot.proxy.stop()));
    await this.ensemble.stop();
  }

  #answer(slot: Slot, answer: StoreAnswer): void {
    if (slot.running && slot.child!.connected) slot.child!.send(answer);
  }

  #onReport(slot: Slot, report: Report): void {
    const at = now();
    switch (report.type) {
      case "claim": {
        const { granted, value, shadow } = this.store.claim(report.resource, report.token, at);
        if (!granted) this.count("claims refused by the fence");
        this.#answer(slot, { type: "claimed", id: report.id, granted, value, shadow });
        return;
      }
      case "write": {
        const write = () => {
          const { applied } = this.store.write(
            report.resource,
            report.token,
            report.value,
            report.shadow,
            now(),
          );
          if (report.value !== undefined && !applied) this.count("writes refused by the fence");
          this.#answer(slot, { type: "written", id: report.id, applied });
        };
        const pause = this.pauseNextWriter;
        if (pause === undefined || slot.paused) {
          write();
          return;
        }
        // The worker checked its lock's signal and sent the write; it freezes now, and the write
        // goes out when it wakes, past its session timeout: a zombie write for the fence to refuse.
        this.pauseNextWriter = undefined;
        this.#pause(slot, at);
        pause.paused(slot);
        setTimeout(() => {
          this.#resume(slot);
          write();
          pause.done(slot);
        }, pause.ms);
        return;
      }
      case "beat":
        slot.lastBeat = at;
        return;
      case "stall":
        this.count("worker stalls");
        this.#freeze(slot, report.from, report.to);
        return;
      case "connected":
        return;
      case "sessionClosed":
        this.count(report.code === -112 ? "sessions expired" : `sessions closed (${report.code})`);
        return;
      case "acquiring":
        slot.acquiring = { resource: report.resource, since: report.at, flagged: false };
        return;
      case "acquired": {
        slot.acquiring = undefined;
        this.acquires.push({
          worker: slot.name,
          resource: report.resource,
          startedAt: report.startedAt,
          settledAt: report.at,
          outcome: "acquired",
        });
        const hold: Hold = {
          worker: slot.name,
          resource: report.resource,
          token: report.token,
          acquiredAt: report.at,
          events: [],
        };
        this.holds.push(hold);
        slot.holding = hold;
        slot.recent.push(hold);
        if (slot.recent.length > 4) slot.recent.shift();
        return;
      }
      case "acquireFailed":
        slot.acquiring = undefined;
        this.count(`acquires failed: ${report.code}`);
        this.acquires.push({
          worker: slot.name,
          resource: report.resource,
          startedAt: report.startedAt,
          settledAt: report.at,
          outcome: report.code,
        });
        return;
      case "suspended":
      case "reconnected":
      case "lost": {
        const hold = slot.recent.findLast((h) => h.resource === report.resource && h.token === report.token);
        if (hold) addEvent(hold, report.type, report.at);
        this.count(`holds ${report.type}`);
        return;
      }
      case "falseLoss":
        this.count("holds reported lost while their session lived");
        return;
      case "writeSkipped":
        this.count("writes skipped: the signal had aborted");
        return;
      case "releasing":
        if (slot.holding) addEvent(slot.holding, "released", report.at);
        slot.holding = undefined;
        return;
      case "releaseFailed":
        this.count(`releases failed: ${report.code}`);
        return;
      case "stopped":
        return;
    }
  }

  #pause(slot: Slot, at: number): void {
    slot.paused = pauseProcess(slot.child!);
    this.#pausedSince.set(slot, at);
    if (slot.holding) addEvent(slot.holding, "frozen", at);
  }

  #resume(slot: Slot): void {
    slot.paused?.resume();
    slot.paused = undefined;
    const since = this.#pausedSince.get(slot);
    this.#pausedSince.delete(slot);
    if (since !== undefined) this.freezes.push({ worker: slot.name, from: since, to: now() });
    // Beats were impossible meanwhile; the hang check counts from now.
    slot.lastBeat = now();
  }

  /** A stall the worker reported once it ran again: its holds open then were frozen from `from`. */
  #freeze(slot: Slot, from: number, to: number): void {
    this.freezes.push({ worker: slot.name, from, to });
    for (const hold of slot.recent) {
      const closed = hold.events.find((event) => event.kind === "released" || event.kind === "killed");
      if (hold.acquiredAt <= from && (closed === undefined || closed.at > from))
        addEvent(hold, "frozen", from);
    }
  }

  /** An acquire that outlives its timeout by the margin while its worker's event loop runs has hung. */
  #checkHangs(): void {
    const at = now();
    const limit = this.settings.acquireTimeoutMs + this.settings.marginMs;
    for (const slot of this.slots) {
      const acquiring = slot.acquiring;
      if (!acquiring || acquiring.flagged || slot.paused || !slot.running) continue;
      if (at - acquiring.since > limit && at - slot.lastBeat < 1000) {
        acquiring.flagged = true;
        this.violate(
          `worker ${slot.name}: acquire of ${acquiring.resource} still pending after ${Math.round(at - acquiring.since)} ms (timeout ${this.settings.acquireTimeoutMs} ms), its event loop running`,
        );
      }
    }
  }
}

/** Adds an event in time order (a stall is reported after later events). */
function addEvent(hold: Hold, kind: HoldEventKind, at: number): void {
  let i = hold.events.length;
  while (i > 0 && hold.events[i - 1]!.at > at) i--;
  hold.events.splice(i, 0, { kind, at });
}

async function children(client: ZooKeeper, path: string): Promise<string[]> {
  try {
    return await client.get_children(path, false);
  } catch (error) {
    if (String(error).includes("-101")) return []; // ZNONODE: the container was reaped
    throw error;
  }
}
