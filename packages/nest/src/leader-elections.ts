import { Logger } from "@nestjs/common";
import type { ElectionOptions, Term, ZkElection, ZkLockManager } from "@zk-dist-lock/core";

/**
 * The elections of one module's `@LeaderOnly()` methods: one candidate per election name, started
 * at application bootstrap and resigned at shutdown.
 */
export class LeaderElections {
  readonly #seats = new Map<string, LeaderSeat>();
  #started = false;

  constructor(
    private readonly manager: ZkLockManager,
    private readonly label: string | undefined,
  ) {}

  /** The seat of `name`, made on first use (the first options win); campaigning already once started. */
  seat(name: string, options: ElectionOptions = {}): LeaderSeat {
    let seat = this.#seats.get(name);
    if (seat === undefined) {
      seat = new LeaderSeat(this.manager.createElection(name, { label: this.label, ...options }));
      this.#seats.set(name, seat);
      if (this.#started) seat.start();
    }
    return seat;
  }

  /** Starts campaigning in every election (Nest's `onApplicationBootstrap`). */
  start(): void {
    this.#started = true;
    for (const seat of this.#seats.values()) seat.start();
  }

  /** Stops every election: waits for the leader's running calls, then resigns. */
  async stop(): Promise<void> {
    this.#started = false;
    await Promise.all([...this.#seats.values()].map((seat) => seat.stop()));
  }
}

const logger = new Logger("LeaderOnly");

/**
 * This instance's candidate in one election, leading with `lead()`: while it leads, decorated calls
 * run with the term; when the term ends (lost, suspended or stopped) the calls still running are
 * awaited before the node is deleted, so the next leader's calls never overlap with them (unless
 * the session expired, and the server deleted the node itself: the token fences those calls).
 */
export class LeaderSeat {
  #term: Term | undefined;
  readonly #running = new Set<Promise<unknown>>();
  #stop: AbortController | undefined;
  #leading: Promise<void> | undefined;

  constructor(readonly election: ZkElection) {}

  /** The term this instance leads in now, if any. */
  get term(): Term | undefined {
    const term = this.#term;
    return term && !term.signal.aborted ? term : undefined;
  }

  start(): void {
    if (this.#stop) return;
    const stop = new AbortController();
    this.#stop = stop;
    const { name } = this.election;
    this.#leading = this.election
      .lead(
        async (term) => {
          this.#term = term;
          logger.log(`This instance leads "${name}" (term ${term.token}).`);
          await new Promise((resolve) =>
            term.signal.aborted
              ? resolve(undefined)
              : term.signal.addEventListener("abort", resolve, { once: true }),
          );
          this.#term = undefined;
          const reason = term.signal.reason as Error;
          if (stop.signal.aborted) logger.log(`This instance resigns from "${name}".`);
          else logger.warn(`This instance no longer leads "${name}": ${reason.message}`);
          await Promise.allSettled(this.#running);
        },
        { signal: stop.signal },
      )
      .catch((error: Error) => {
        logger.error(`The election "${name}" stopped: ${error.message}`, error.stack);
      });
  }

  async stop(): Promise<void> {
    this.#stop?.abort();
    this.#stop = undefined;
    await this.#leading;
  }

  /** Runs `call` as part of the current term: a term that ends waits for it. */
  track<T>(call: Promise<T>): Promise<T> {
    this.#running.add(call);
    const untrack = () => this.#running.delete(call);
    call.then(untrack, untrack);
    return call;
  }
}
