import { EventEmitter } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import {
  isLockError,
  LeadershipLostError,
  LockError,
  LockInvalidArgumentError,
  type LockLostError,
} from "../errors.js";
import { sortContenders } from "../lock-node.js";
import {
  type AcquireOptions,
  type LockOptions,
  optionNames,
  optionsObject,
  resolveLockOptions,
  validateAcquireOptions,
} from "../options.js";
import { type ConnectionChange, Hold, type Holder } from "../queue/hold.js";
import { contendersOf, type Participant, participantOf, readParticipant } from "../queue/participants.js";
import { enterQueue } from "../queue/queue.js";
import { exclusive } from "../queue/rules.js";
import { describe } from "../resource-name.js";
import { isConnectionCode, ZkCallError } from "../session/zk-client.js";
import type { ZkSession } from "../session/zk-session.js";
import type { LockHost } from "./queue-handle.js";

/** What an election needs from its manager beyond a lock's needs: a session to campaign on again. */
export interface ElectionHost extends LockHost {
  /**
   * Resolves with a session that is not over: the current one, or the next one the manager is
   * given once the current one has ended. Rejects with `NOT_INITIALIZED` when the manager closes.
   */
  liveSession(signal?: AbortSignal): Promise<ZkSession>;
}

/** Where an election lives and what its nodes say about their owner. */
export interface ElectionOptions {
  /** Parent path of the per-election directories. Default `"/elections"`, apart from the locks. */
  rootDir?: string;
  /** Free text stored in the candidate's node, such as a pod name; `leader()` shows it. */
  label?: string;
}

export const DEFAULT_ELECTION_ROOT_DIR = "/elections";

interface ResolvedElectionOptions {
  rootDir: string;
  label: string | undefined;
}

/** Checks election options and applies the defaults: the manager's label, the elections' root. */
export function resolveElectionOptions(options: unknown, defaults: LockOptions): ResolvedElectionOptions {
  const given = optionsObject(options, "createElection() options", optionNames.election);
  const { rootDir, label } = resolveLockOptions(given, {
    rootDir: DEFAULT_ELECTION_ROOT_DIR,
    label: defaults.label,
  });
  return { rootDir, label };
}

/** Where a candidate stands: not running, waiting for its turn, leading, leading while disconnected, or deposed. */
export type ElectionState = "idle" | "campaigning" | "leading" | "suspended" | "lost";

/** One term of leadership, as `lead()` hands it to its function. */
export interface Term {
  /** The term's fencing token: greater than the token of every earlier term of this election. */
  token: bigint;
  /**
   * Aborts when the term ends: leadership lost, the connection suspended, or `lead()` told to stop.
   * Stop acting as leader when it does.
   */
  signal: AbortSignal;
}

/** Options of `lead()`. */
export interface LeadOptions {
  /** Stops campaigning and leading: the term's signal aborts, and `lead()` resigns once its function has settled. */
  signal?: AbortSignal;
}

/** Options of `observe()`. */
export interface ObserveOptions {
  /** Ends the iteration. */
  signal?: AbortSignal;
}

/** The events of a {@link ZkElection}, each with the token of the term it is about. */
export interface ElectionEvents {
  /** This candidate leads now. */
  elected: [{ token: bigint }];
  /**
   * The connection dropped while leading. The session may expire meanwhile and another candidate
   * be elected: act as leader again only after `reconnected`.
   */
  suspended: [{ token: bigint }];
  reconnected: [{ token: bigint }];
  /** The term ended without `resign()` (see {@link LeadershipLostError}). */
  lost: [{ token: bigint; error: LockLostError }];
  /** The term ended by `resign()`, or `lead()` ended it. */
  resigned: [{ token: bigint }];
}

// After a campaign that failed for want of a session (or of its node), wait this long, doubling up
// to the maximum, before the next: never a busy loop, even when every attempt fails at once.
const RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/**
 * A candidate in the leader election `name`, made by `ZkLockManager.createElection()`: the
 * mutex's queue, where the first node leads and every other candidate waits for the one ahead of
 * it. One handle is one candidate. A handle that never campaigns can still tell who leads
 * (`leader()`, `observe()`).
 *
 * Leading is not a fact a process can know for sure at every instant: while the connection is
 * suspended the session may expire on the server and someone else be elected. `isLeader` is
 * therefore false while suspended, and `lead()` ends the term at a suspension.
 *
 * @example
 * ```ts
 * const election = manager.createElection("report-scheduler", { label: "pod-7" });
 * const token = await election.campaign({ signal });
 * election.on("suspended", pauseWrites);
 * await runScheduler({ fence: token, signal: election.signal });
 * await election.resign();
 * ```
 */
export class ZkElection extends EventEmitter<ElectionEvents> implements Holder {
  #hold: Hold | undefined;
  #campaign: { promise: Promise<bigint>; stop: AbortController } | undefined;
  #leading: { stop: AbortController; done: Promise<unknown> } | undefined;
  /** @internal */
  readonly recipe = "election";
  /** @internal */
  readonly mode = "exclusive";

  /** @internal */
  constructor(
    private readonly host: ElectionHost,
    /** The election's name, as the caller gave it. */
    readonly name: string,
    /** The election's directory in ZooKeeper. */
    readonly path: string,
    private readonly options: ResolvedElectionOptions,
  ) {
    super();
  }

  /** @internal The name, under which the manager's events report the term. */
  get resource(): string {
    return this.name;
  }

  get state(): ElectionState {
    const hold = this.#hold;
    if (hold) return hold.lost ? "lost" : hold.suspended ? "suspended" : "leading";
    return this.#campaign ? "campaigning" : "idle";
  }

  /** Whether this candidate leads and is connected: false while suspended, since the session may be gone. */
  get isLeader(): boolean {
    return this.state === "leading";
  }

  /** The current term's fencing token, or undefined between terms. */
  get token(): bigint | undefined {
    return this.#hold?.token;
  }

  /** The candidate's node while it leads. */
  get nodePath(): string | undefined {
    return this.#hold?.path;
  }

  /**
   * Aborts when the current term ends: with a {@link LeadershipLostError} when leadership is lost,
   * with code `NOT_HELD` at `resign()`. An aborted signal between terms. It does not abort at a
   * suspension: listen to `suspended` for that (`lead()` does it for you).
   */
  get signal(): AbortSignal {
    return (
      this.#hold?.signal ??
      AbortSignal.abort(new LockError("NOT_HELD", `Not leading "${this.name}".`, { resource: this.name }))
    );
  }

  /**
   * Joins the election and resolves, once this candidate leads, to the term's fencing token. There
   * is no timeout unless one is given. While leading it resolves at once to the current token; a
   * call while a campaign is under way joins it (whose signal and timeout then govern).
   *
   * Rejects with `LockTimeoutError`, a `LockError` with code `ABORTED` when the signal aborts or
   * `resign()` is called, or `CONNECTION` when the session ends; in each case the candidate's node
   * is deleted.
   */
  async campaign(options?: AcquireOptions): Promise<bigint> {
    const { signal, timeout } = validateAcquireOptions(options, "campaign() options");
    const hold = this.#hold;
    if (hold && !hold.lost) return hold.token;
    if (hold) await this.#endTerm();
    if (!this.#campaign) {
      const stop = new AbortController();
      const promise = this.#contend(signal ? AbortSignal.any([signal, stop.signal]) : stop.signal, timeout);
      this.#campaign = { promise, stop };
      promise.then(
        () => this.#forgetCampaign(promise),
        () => this.#forgetCampaign(promise),
      );
    }
    return this.#campaign.promise;
  }

  /**
   * Gives up: stops a campaign under way, stops a running `lead()` (waiting for its function to
   * settle), and ends the current term, deleting the node so the next candidate leads.
   */
  async resign(): Promise<void> {
    const reason = new LockError("ABORTED", `resign() was called on "${this.name}".`, {
      resource: this.name,
    });
    this.#campaign?.stop.abort(reason);
    this.#leading?.stop.abort(reason);
    await Promise.allSettled([this.#campaign?.promise, this.#leading?.done]);
    await this.#endTerm();
  }

  /** `await using election = …` resigns at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.resign();
  }

  /**
   * Who leads now, for anyone (campaigning or not): the leader's node, session and what it stored
   * (host, pid, label, since when), or undefined when nobody leads.
   */
  async leader(): Promise<Participant | undefined> {
    const session = await this.host.liveSession();
    for (const node of await contendersOf(session, this.path)) {
      const participant = await readParticipant(session, this.path, node);
      if (participant) return participant;
    }
    return undefined;
  }

  /**
   * Follows who leads without campaigning: yields the current leader (undefined for nobody), then
   * each new one. It watches the leader's node alone, so a candidate joining or leaving the queue
   * behind it costs nothing. It follows the manager onto a new session after an expiry.
   *
   * @example
   * ```ts
   * for await (const leader of election.observe({ signal })) {
   *   console.log(leader ? `led by ${leader.owner?.label}` : "no leader");
   * }
   * ```
   */
  async *observe(options?: ObserveOptions): AsyncGenerator<Participant | undefined, void, undefined> {
    const { signal } = validateAcquireOptions(options, "observe() options", optionNames.signalOnly);
    let last: string | null = null;
    while (!signal?.aborted) {
      let session: ZkSession;
      try {
        session = await this.host.liveSession(signal);
      } catch (error) {
        if (signal?.aborted || isLockError(error, "NOT_INITIALIZED")) return;
        throw error;
      }
      let changed = () => {};
      const change = new Promise<void>((resolve) => {
        changed = resolve;
      });
      let leader: Participant | undefined;
      try {
        leader = await this.#watchLeader(session, changed);
      } catch (error) {
        // A connection loss, or a client that closed under the session (it may go on on another).
        if (!session.mayRetry(error) && !session.overSignal.aborted) throw error;
        // Look again once connected; a session that ended sends the loop to the next one.
        await session.whenConnected(signal).catch(() => {});
        continue;
      }
      const key = leader ? `${leader.sessionId}/${leader.node}` : "";
      if (key !== last) {
        last = key;
        yield leader;
      }
      await firstOf(change, session.overSignal, signal);
    }
  }

  /**
   * Leads for as long as the process lives (Curator's LeaderSelector with requeue): campaigns,
   * runs `fn` with the term while leading, and campaigns again after the term ends, on a new
   * session when the old one expired, until `signal` aborts or `resign()` is called.
   *
   * The term's signal aborts when leadership is lost, when the connection is suspended (the session
   * may expire meanwhile: a suspended leader must not act), and when `lead()` is stopped. `fn` should
   * stop then; the node is deleted only after `fn` has settled, so after a resignation or a stop the
   * next leader never overlaps with it (after an expiry the server has deleted the node already:
   * only the token fences an `fn` that runs on). If `fn` returns or throws while its term still
   * stands, `lead()` resigns and resolves or rejects with it: the work is over. It rejects on errors
   * that another campaign would not mend (for example `NOAUTH`) and resolves when stopped or when
   * the manager is closed.
   *
   * @example
   * ```ts
   * await election.lead(async ({ token, signal }) => {
   *   while (!signal.aborted) {
   *     await drainOutbox({ fence: token, signal });
   *     await setTimeout(1000, undefined, { signal }).catch(() => {});
   *   }
   * }, { signal: shutdown.signal });
   * ```
   */
  async lead(fn: (term: Term) => unknown, options?: LeadOptions): Promise<void> {
    if (typeof fn !== "function") {
      throw new LockInvalidArgumentError(`lead() needs a function; got ${describe(fn)}.`, this.name);
    }
    const { signal } = validateAcquireOptions(options, "lead() options", optionNames.signalOnly);
    if (this.#leading) {
      throw new LockInvalidArgumentError(
        `lead() is already running on this handle of "${this.name}"; one handle is one candidate.`,
        this.name,
      );
    }
    const stop = new AbortController();
    const done = this.#leadUntil(fn, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal);
    this.#leading = { stop, done: done.catch(() => {}) };
    try {
      await done;
    } finally {
      this.#leading = undefined;
    }
  }

  /** @internal */
  lossError(reason: string): LockLostError {
    return new LeadershipLostError(this.name, reason);
  }

  /** @internal The connection dropped (suspended), came back, or the term is lost. */
  connectionChanged(change: ConnectionChange): number | undefined {
    const hold = this.#hold;
    const holdMs = hold?.connectionChanged(change);
    if (hold === undefined || holdMs === undefined) return undefined;
    const { token } = hold;
    if (typeof change === "string") this.emit(change, { token });
    else this.emit("lost", { token, error: change });
    return holdMs;
  }

  async #contend(signal: AbortSignal, timeout: number | undefined): Promise<bigint> {
    const started = performance.now();
    const granted = await enterQueue(this.host, {
      resource: this.name,
      dir: this.path,
      rootDir: this.options.rootDir,
      recipe: this.recipe,
      label: this.options.label,
      rule: exclusive,
      signal,
      timeout,
    });
    const hold = new Hold(this.host, this.name, this.path, granted);
    this.#hold = hold;
    this.host.holdStarted(this, performance.now() - started);
    this.#watchOwnNode(hold);
    this.emit("elected", { token: hold.token });
    return hold.token;
  }

  #forgetCampaign(promise: Promise<bigint>): void {
    if (this.#campaign?.promise === promise) this.#campaign = undefined;
  }

  /**
   * Watches the leader's own node for the whole term, so that a node deleted from outside (an
   * operator removing the election's directory, CURATOR-724) ends the term instead of leaving two
   * leaders. The end of the session is the manager's to report.
   */
  #watchOwnNode(hold: Hold): void {
    const watch = (): void => {
      if (this.#hold !== hold || hold.lost) return;
      hold.session.watchNode(hold.path, watch).then(
        (node) => {
          if (node === undefined && this.#hold === hold) {
            this.host.holdLost(this, this.lossError("its node was deleted from outside"));
          }
        },
        (error) => {
          // A read that failed for the connection set no watch: set it again once connected.
          if (error instanceof ZkCallError && isConnectionCode(error.rc))
            hold.session.whenConnected().then(watch, () => {});
        },
      );
    };
    watch();
  }

  /** Ends the current term, if any, and deletes its node. */
  async #endTerm(): Promise<void> {
    const hold = this.#hold;
    if (!hold) return;
    this.#hold = undefined;
    this.host.holdEnded(this, hold, performance.now() - hold.since);
    const released = hold.release(
      () => new LockError("NOT_HELD", `Leadership of "${this.name}" was resigned.`, { resource: this.name }),
    );
    if (!hold.lost) this.emit("resigned", { token: hold.token });
    await released;
  }

  async #leadUntil(fn: (term: Term) => unknown, stopped: AbortSignal): Promise<void> {
    let failures = 0;
    while (!stopped.aborted) {
      let token: bigint;
      try {
        await this.host.liveSession(stopped);
        token = await this.campaign({ signal: stopped });
      } catch (error) {
        if (stopped.aborted || isLockError(error, "NOT_INITIALIZED")) return;
        // The session ended, or the node went with the election's directory: campaign again, on
        // the next session if need be.
        if (!isLockError(error, "CONNECTION")) throw error;
        failures++;
        const wait = Math.min(RETRY_MS * 2 ** (failures - 1), MAX_RETRY_MS);
        if (!(await delay(wait, true, { signal: stopped }).catch(() => false))) return;
        continue;
      }
      failures = 0;
      if (stopped.aborted) return this.#endTerm(); // elected as the stop came: no work to start
      if (!(await this.#serveTerm(fn, token, stopped))) return;
    }
  }

  /** Runs `fn` for one term and ends the term; resolves whether to campaign again. */
  async #serveTerm(fn: (term: Term) => unknown, token: bigint, stopped: AbortSignal): Promise<boolean> {
    const hold = this.#hold;
    if (hold === undefined) return true; // a concurrent campaign() replaced a lost term: go on
    const work = new AbortController();
    const end = (reason: unknown) => {
      if (!work.signal.aborted) work.abort(reason);
    };
    const onLost = () => end(hold.signal.reason);
    const onSuspended = () =>
      end(
        new LockError(
          "CONNECTION",
          `The connection to ZooKeeper was suspended while leading "${this.name}": the term ends, and lead() campaigns again.`,
          { resource: this.name },
        ),
      );
    const onStop = () =>
      end(
        new LockError("ABORTED", `lead() of "${this.name}" was stopped.`, {
          resource: this.name,
          cause: stopped.reason,
        }),
      );
    hold.signal.addEventListener("abort", onLost);
    this.on("suspended", onSuspended);
    stopped.addEventListener("abort", onStop);
    if (hold.signal.aborted) onLost();
    else if (hold.suspended) onSuspended();
    else if (stopped.aborted) onStop();
    try {
      await fn({ token, signal: work.signal });
    } catch (error) {
      // Work stopped by the end of its term may well throw (an AbortError): that is not a failure.
      if (!work.signal.aborted) {
        await this.#endTerm();
        throw error;
      }
    } finally {
      hold.signal.removeEventListener("abort", onLost);
      this.off("suspended", onSuspended);
      stopped.removeEventListener("abort", onStop);
    }
    const ended = work.signal.aborted;
    await this.#endTerm();
    return ended && !stopped.aborted;
  }

  /**
   * The leader now, with a watch that calls `onChange` when that changes: on the leader's node, or
   * on the directory's children when nobody leads, or on the directory itself when it is gone.
   */
  async #watchLeader(session: ZkSession, onChange: () => void): Promise<Participant | undefined> {
    for (;;) {
      const [first] = await contendersOf(session, this.path);
      if (first !== undefined) {
        const node = await session.watchNode(`${this.path}/${first}`, onChange);
        if (node) return participantOf(first, ...node);
        continue; // it left meanwhile: the next one leads
      }
      const children = await session.watchChildren(this.path, onChange);
      if (children === undefined) {
        if (!(await session.watchExists(this.path, onChange))) return undefined;
      } else if (sortContenders(children).length === 0) {
        return undefined;
      }
      // Someone arrived between the listing and the watch: look again.
    }
  }
}

/** Resolves when `change` settles or any of the signals aborts. */
function firstOf(change: Promise<void>, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  const given = signals.filter((signal) => signal !== undefined);
  return new Promise((resolve) => {
    const done = () => {
      for (const signal of given) signal.removeEventListener("abort", done);
      resolve();
    };
    if (given.some((signal) => signal.aborted)) return done();
    for (const signal of given) signal.addEventListener("abort", done, { once: true });
    change.then(done);
  });
}
