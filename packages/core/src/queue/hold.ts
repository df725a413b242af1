import type { HoldMode, Recipe } from "../channels.js";
import type { LockError, LockLostError } from "../errors.js";
import type { ZkSession } from "../session/zk-session.js";
import type { Granted, QueueHost } from "./queue.js";

/** What a hold hears of its session: the connection dropped or came back, or the hold is lost. */
export type ConnectionChange = "suspended" | "reconnected" | LockLostError;

/**
 * What the manager tracks of a recipe handle while it holds a node (a lock, a leader's term): for
 * its events, for the connection changes it forwards, and for `close()`.
 */
export interface Holder extends AsyncDisposable {
  readonly resource: string;
  /** The resource's directory. */
  readonly path: string;
  readonly nodePath: string | undefined;
  readonly token: bigint | undefined;
  /** What the diagnostics channels say the hold is. */
  readonly recipe: Recipe;
  readonly mode: HoldMode;
  /** The error this holder's hold is lost with when its session ends for `reason`. */
  lossError(reason: string): LockLostError;
  /** Returns how long the hold has lasted, or undefined when there is no hold left to change. */
  connectionChanged(change: ConnectionChange): number | undefined;
}

/**
 * A queue node whose turn came, from its grant until it is released or lost: what a lock's hold
 * and a leader's term have in common. Its signal's AbortController is made when `signal` is first
 * read, since most holds never read it.
 */
export class Hold {
  /** The session the node belongs to (the manager may have moved on to another). */
  readonly session: ZkSession;
  readonly path: string;
  readonly token: bigint;
  readonly since = performance.now();
  suspended: boolean;
  lost: LockLostError | undefined;
  #controller: AbortController | undefined;

  constructor(
    private readonly host: QueueHost,
    private readonly resource: string,
    private readonly dir: string,
    granted: Granted,
  ) {
    this.session = granted.session;
    this.path = granted.path;
    this.token = granted.token;
    this.suspended = !granted.session.connected;
  }

  /** Aborts when the hold is lost or released. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.lost) this.#controller.abort(this.lost);
    }
    return this.#controller.signal;
  }

  /** Returns how long the hold has lasted, or undefined once it is lost. */
  connectionChanged(change: ConnectionChange): number | undefined {
    if (this.lost) return undefined;
    if (typeof change !== "string") {
      this.lost = change;
      this.#controller?.abort(change);
      // If the session still lives, the node does too and would block everyone: delete it once
      // the connection is back.
      this.#abandon();
    } else {
      this.suspended = change === "suspended";
    }
    return performance.now() - this.since;
  }

  /**
   * Ends the hold: its signal aborts with `reason()` and the node is deleted. Waits for the deletion
   * while connected; after a loss it touches no other owner's node. The reason is made only for a
   * signal that was read: an error and its stack trace cost about 6 % of an uncontended lock
   * cycle's CPU time, and most holds never read their signal.
   */
  release(reason: () => LockError): Promise<void> {
    this.#controller?.abort(reason());
    return this.session.whileConnected(this.#abandon());
  }

  #abandon(): Promise<void> {
    return this.host.abandon(this.resource, this.dir, this.session, this.path);
  }
}
