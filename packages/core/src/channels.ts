import { channel, tracingChannel } from "node:diagnostics_channel";

/**
 * The diagnostics channels every recipe publishes on, for APM agents, OpenTelemetry
 * (`@zk-dist-lock/opentelemetry`) and your own subscribers. Nothing is built or published while
 * nobody subscribes. Subscribe by name, so a second loaded copy of the package is heard too:
 *
 * @example
 * ```ts
 * import { tracingChannel, subscribe } from "node:diagnostics_channel";
 * import type { AcquireContext } from "@zk-dist-lock/core";
 *
 * tracingChannel<unknown, AcquireContext>("zk-dist-lock:acquire").subscribe({
 *   start() {},
 *   end() {},
 *   asyncStart() {},
 *   asyncEnd: (ctx) => console.log(ctx.resource, ctx.waited ? "waited" : "free", ctx.token),
 *   error: (ctx) => console.warn(ctx.resource, ctx.error),
 * });
 * subscribe("zk-dist-lock:lost", (event) => console.error("lost", event));
 * ```
 */
export const channelNames = {
  /**
   * A TracingChannel around every acquisition that goes to ZooKeeper: not re-entrant count-ups,
   * and one for the overlapping calls of a handle that share an acquisition.
   */
  acquire: "zk-dist-lock:acquire",
  /** An acquisition found someone ahead of it and starts waiting ({@link AcquireContext}). */
  wait: "zk-dist-lock:wait",
  /** A hold ended by release ({@link HoldMessage}); a lost hold ends with `lost` alone. */
  release: "zk-dist-lock:release",
  /** A holder's connection dropped; the hold stands while the session lives ({@link HoldMessage}). */
  suspend: "zk-dist-lock:suspend",
  /** A suspended holder's connection came back ({@link HoldMessage}). */
  reconnect: "zk-dist-lock:reconnect",
  /** A hold was lost ({@link LostMessage}). */
  lost: "zk-dist-lock:lost",
  /** A node this process abandoned could not be deleted ({@link CleanupFailedMessage}). */
  cleanupFailed: "zk-dist-lock:cleanup-failed",
} as const;

/** Which coordination recipe an event is about. */
export type Recipe = "lock" | "semaphore" | "election";

/**
 * What the node of an event asks for, as its name says: a lock's (or a leader's) exclusive turn, a
 * shared lock's, or a semaphore's permit.
 *
 * @example
 * ```ts
 * subscribe(channelNames.release, (message) => {
 *   const { mode, holdMs } = message as HoldMessage;
 *   if (mode === "semaphore") permitHoldTimes.record(holdMs);
 * });
 * ```
 */
export type HoldMode = "exclusive" | "shared" | "semaphore";

/**
 * The context object of one acquisition on the `zk-dist-lock:acquire` TracingChannel. The same
 * object travels from `start` to `asyncEnd`; the fields below are filled in as it goes. With
 * `tracePromise`, `end` fires when the call returns its promise: end spans on `asyncEnd`.
 */
export interface AcquireContext {
  resource: string;
  /** The resource's directory in ZooKeeper. */
  path: string;
  recipe: Recipe;
  mode: HoldMode;
  /** Whether it found someone ahead and waited (set before the `wait` channel publishes). */
  waited: boolean;
  /** The fencing token, once acquired. */
  token?: bigint;
  /** The node that got its turn, once acquired. */
  node?: string;
  /** Why it failed: a `LockError` with code TIMEOUT, ABORTED, CONNECTION, … (set by `tracePromise`). */
  error?: unknown;
}

/** A hold that ended, dropped its connection or got it back. */
export interface HoldMessage {
  resource: string;
  recipe: Recipe;
  mode: HoldMode;
  /** The node of the hold. */
  path: string;
  token: bigint;
  /** How long it has been held, in milliseconds. */
  holdMs: number;
}

export interface LostMessage extends HoldMessage {
  error: Error;
}

export interface CleanupFailedMessage {
  resource: string;
  path: string;
  error: unknown;
}

export const acquireChannel = tracingChannel<unknown, AcquireContext>(channelNames.acquire);

/**
 * Whether the acquire channel has a subscriber. Not its `hasSubscribers`, which Node has only since
 * 20.13 (core runs on 20.10): undefined before, which would trace nothing.
 */
export const acquireTraced = (): boolean =>
  acquireChannel.start.hasSubscribers ||
  acquireChannel.end.hasSubscribers ||
  acquireChannel.asyncStart.hasSubscribers ||
  acquireChannel.asyncEnd.hasSubscribers ||
  acquireChannel.error.hasSubscribers;
export const waitChannel = channel(channelNames.wait);
export const releaseChannel = channel(channelNames.release);
export const suspendChannel = channel(channelNames.suspend);
export const reconnectChannel = channel(channelNames.reconnect);
export const lostChannel = channel(channelNames.lost);
export const cleanupFailedChannel = channel(channelNames.cleanupFailed);
