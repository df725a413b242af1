/**
 * `@zk-dist-lock/opentelemetry`: OpenTelemetry metrics and spans for zk-dist-lock, from the
 * diagnostics channels that `@zk-dist-lock/core` publishes on. It subscribes by channel name, so
 * every loaded copy of core is measured, and core pays nothing until this is enabled.
 *
 * @example
 * ```ts
 * import { instrumentZkDistLock } from "@zk-dist-lock/opentelemetry";
 *
 * // After the OpenTelemetry SDK is set up (NodeSDK, or global meter and tracer providers):
 * const instrumentation = instrumentZkDistLock();
 * // … on shutdown
 * instrumentation.disable();
 * ```
 */
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import {
  type Attributes,
  type Context,
  context,
  diag,
  type MeterProvider,
  metrics,
  type Span,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import {
  type AcquireContext,
  channelNames,
  type HoldMessage,
  type LostMessage,
  type Recipe,
} from "@zk-dist-lock/core";

export interface ZkDistLockInstrumentationOptions {
  /** Default: the global meter provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Default: the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /**
   * Maps a resource to the `zk_dist_lock.resource` metric attribute, which must have few values:
   * return a shape such as `"invoice:#"`, or undefined to leave the attribute out. Default:
   * {@link collapseDigits}. Spans carry the whole resource name. If it throws, the figure is
   * recorded without the attribute and the error goes to OpenTelemetry's `diag` logger.
   */
  resourceAttribute?: (resource: string) => string | undefined;
}

/** What {@link instrumentZkDistLock} returns. */
export interface ZkDistLockInstrumentation {
  /** Stops recording: unsubscribes from every channel. */
  disable(): void;
}

/** The default resource attribute: every run of digits becomes `#` (`invoice:42` → `invoice:#`). */
export const collapseDigits = (resource: string): string => resource.replace(/\d+/g, "#");

/** The names of the instruments, for dashboards and views. */
export const metricNames = {
  /** Histogram (s): from an acquisition's start to its outcome; attribute `zk_dist_lock.outcome`. */
  acquireDuration: "zk_dist_lock.acquire.duration",
  /** Histogram (s): from acquisition to release or loss; attribute `zk_dist_lock.hold.end`. */
  holdDuration: "zk_dist_lock.hold.duration",
  /** UpDownCounter: holds of this process now. */
  holds: "zk_dist_lock.holds",
  /** UpDownCounter: acquisitions of this process waiting for another holder now. */
  waiters: "zk_dist_lock.waiters",
  /** Counter: acquisitions that found someone ahead and had to wait. */
  contended: "zk_dist_lock.acquire.contended",
  /** Counter: holds lost (session expired, or cut off past the session timeout). */
  lost: "zk_dist_lock.lost",
} as const;

/** How an acquisition ended, as the `zk_dist_lock.outcome` attribute says it. */
export type AcquireOutcome = "acquired" | "timeout" | "aborted" | "error";

interface InFlight {
  started: number;
  /** The caller's context when the acquisition began: the parent of its span. */
  parent: Context;
  /** Counted among the waiters (a subscriber may have joined between start and wait). */
  waiting: boolean;
  span: Span | undefined;
}

const ATTR = {
  resource: "zk_dist_lock.resource",
  recipe: "zk_dist_lock.recipe",
  mode: "zk_dist_lock.mode",
  outcome: "zk_dist_lock.outcome",
  waited: "zk_dist_lock.waited",
  holdEnd: "zk_dist_lock.hold.end",
  token: "zk_dist_lock.token",
  node: "zk_dist_lock.node",
} as const;

const name = "@zk-dist-lock/opentelemetry";

/**
 * Records zk-dist-lock's metrics (see {@link metricNames}) and a span for every acquisition that
 * waited, a child of the span active where `acquire()` was called, with the fencing token as an
 * attribute. Uncontended acquisitions get no span: they are one round trip, and a span each would
 * cost more than the lock.
 */
export function instrumentZkDistLock(
  options: ZkDistLockInstrumentationOptions = {},
): ZkDistLockInstrumentation {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(name);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(name);
  const resourceAttribute = options.resourceAttribute ?? collapseDigits;
  // Called in core's channel publishes, where a throw would reach the application as uncaught.
  const shape = (resource: string): string | undefined => {
    try {
      return resourceAttribute(resource);
    } catch (error) {
      diag.error(
        `zk-dist-lock: resourceAttribute threw for ${JSON.stringify(resource)}; recorded without it`,
        error,
      );
      return undefined;
    }
  };

  const acquireDuration = meter.createHistogram(metricNames.acquireDuration, {
    unit: "s",
    description: "Time from the start of an acquisition to its outcome.",
  });
  const holdDuration = meter.createHistogram(metricNames.holdDuration, {
    unit: "s",
    description: "Time a lock, permit or leadership was held.",
  });
  const holds = meter.createUpDownCounter(metricNames.holds, { description: "Holds of this process now." });
  const waiters = meter.createUpDownCounter(metricNames.waiters, {
    description: "Acquisitions of this process waiting for another holder now.",
  });
  const contended = meter.createCounter(metricNames.contended, {
    description: "Acquisitions that had to wait for another holder.",
  });
  const lost = meter.createCounter(metricNames.lost, { description: "Holds lost." });

  const attributes = (event: { resource: string; recipe: Recipe; mode: string }): Attributes => {
    const resource = shape(event.resource);
    const base: Attributes = { [ATTR.recipe]: event.recipe, [ATTR.mode]: event.mode };
    return resource === undefined ? base : { ...base, [ATTR.resource]: resource };
  };

  const inFlight = new WeakMap<AcquireContext, InFlight>();
  // Holds counted up, by node: a hold ends once, whichever of release and loss is heard first.
  const held = new Map<string, Attributes>();

  const settle = (ctx: AcquireContext) => {
    const flight = inFlight.get(ctx);
    if (!flight) return;
    inFlight.delete(ctx);
    const outcome = outcomeOf(ctx);
    const attrs = attributes(ctx);
    acquireDuration.record((performance.now() - flight.started) / 1000, {
      ...attrs,
      [ATTR.outcome]: outcome,
      [ATTR.waited]: ctx.waited,
    });
    if (flight.waiting) waiters.add(-1, attrs);
    if (outcome === "acquired" && ctx.node !== undefined) {
      holds.add(1, attrs);
      held.set(ctx.node, attrs);
    }
    const span = flight.span;
    if (!span) return;
    span.setAttribute(ATTR.outcome, outcome);
    if (ctx.token !== undefined) span.setAttribute(ATTR.token, ctx.token.toString());
    if (ctx.node !== undefined) span.setAttribute(ATTR.node, ctx.node);
    if (outcome !== "acquired") {
      span.recordException(ctx.error instanceof Error ? ctx.error : String(ctx.error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(ctx.error) });
    }
    span.end();
  };

  const acquire = tracingChannel<unknown, AcquireContext>(channelNames.acquire);
  const acquireHandlers = {
    start(ctx: AcquireContext) {
      inFlight.set(ctx, {
        started: performance.now(),
        parent: context.active(),
        waiting: false,
        span: undefined,
      });
    },
    end() {},
    asyncStart() {},
    // tracePromise publishes end when the call returns its promise: the outcome comes with asyncEnd.
    asyncEnd: settle,
    error() {},
  };

  const onWait = (message: unknown) => {
    const ctx = message as AcquireContext;
    const flight = inFlight.get(ctx);
    if (!flight) return; // began before this instrumentation was enabled
    const attrs = attributes(ctx);
    contended.add(1, attrs);
    waiters.add(1, attrs);
    flight.waiting = true;
    flight.span = tracer.startSpan(
      `zk-dist-lock acquire`,
      {
        startTime: performance.timeOrigin + flight.started,
        attributes: { ...attrs, [ATTR.resource]: ctx.resource, "zk_dist_lock.path": ctx.path },
      },
      flight.parent,
    );
  };

  const endHold = (message: unknown, end: "released" | "lost") => {
    const hold = message as HoldMessage;
    const attrs = held.get(hold.path);
    if (!attrs) return;
    held.delete(hold.path);
    holds.add(-1, attrs);
    holdDuration.record(hold.holdMs / 1000, { ...attrs, [ATTR.holdEnd]: end });
  };
  const onRelease = (message: unknown) => endHold(message, "released");
  const onLost = (message: unknown) => {
    lost.add(1, attributes(message as LostMessage));
    endHold(message, "lost");
  };

  acquire.subscribe(acquireHandlers);
  subscribe(channelNames.wait, onWait);
  subscribe(channelNames.release, onRelease);
  subscribe(channelNames.lost, onLost);
  let enabled = true;
  return {
    disable() {
      if (!enabled) return;
      enabled = false;
      acquire.unsubscribe(acquireHandlers);
      unsubscribe(channelNames.wait, onWait);
      unsubscribe(channelNames.release, onRelease);
      unsubscribe(channelNames.lost, onLost);
    },
  };
}

function outcomeOf(ctx: AcquireContext): AcquireOutcome {
  if (!("error" in ctx)) return "acquired";
  const code = (ctx.error as { code?: unknown } | undefined)?.code;
  return code === "TIMEOUT" ? "timeout" : code === "ABORTED" ? "aborted" : "error";
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
