// The documented metrics and spans, through the real OpenTelemetry SDK's in-memory exporters, from
// locks taken on a real ZooKeeper server.
import { context, type DiagLogger, DiagLogLevel, diag, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { isLockError, ZkLockManager } from "@zk-dist-lock/core";
import { connectZooKeeper, waitFor } from "@zk-dist-lock/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type ZooKeeper from "zookeeper";
import {
  collapseDigits,
  instrumentZkDistLock,
  metricNames,
  type ZkDistLockInstrumentation,
  type ZkDistLockInstrumentationOptions,
} from "../src/index.js";

const connect = inject("zkConnect");

describe("instrumentZkDistLock", () => {
  const contextManager = new AsyncLocalStorageContextManager();
  let metricExporter: InMemoryMetricExporter;
  let reader: PeriodicExportingMetricReader;
  let spans: InMemorySpanExporter;
  let tracerProvider: BasicTracerProvider;
  let instrumentation: ZkDistLockInstrumentation;
  const opened: { manager: ZkLockManager; client: ZooKeeper }[] = [];

  beforeAll(() => {
    context.setGlobalContextManager(contextManager.enable());
  });
  afterAll(() => {
    context.disable();
  });

  /** Fresh SDK pipelines and an instrumentation writing to them. */
  function enable(options: ZkDistLockInstrumentationOptions = {}) {
    metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
    spans = new InMemorySpanExporter();
    tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    instrumentation = instrumentZkDistLock({
      meterProvider: new MeterProvider({ readers: [reader] }),
      tracerProvider,
      ...options,
    });
  }

  beforeEach(() => enable());

  afterEach(async () => {
    instrumentation.disable();
    for (const { manager, client } of opened.splice(0)) {
      await manager.close();
      client.close();
    }
  });

  const open = async (rootDir: string) => {
    const client = await connectZooKeeper(connect, { sessionTimeout: 5000 });
    const manager = new ZkLockManager({ rootDir }).init(client);
    opened.push({ manager, client });
    return { manager, client };
  };

  /** The data points of one instrument, as the reader collects them now. */
  async function points<T = number>(metric: string): Promise<DataPoint<T>[]> {
    await reader.forceFlush();
    const last = metricExporter.getMetrics().at(-1);
    const found = last?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === metric);
    return (found?.dataPoints ?? []) as DataPoint<T>[];
  }
  const sum = async (metric: string, attributes: Record<string, unknown> = {}) =>
    (await points(metric))
      .filter((p) => Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))
      .reduce((total, p) => total + p.value, 0);

  it("records waits, holds, contention and a span (child of the caller's) for an acquisition that waited", async () => {
    const rootDir = `/otel-${Date.now()}`;
    const { manager: holder } = await open(rootDir);
    const { manager: waiter } = await open(rootDir);
    const held = holder.createLock("invoice:42");
    await held.acquire();
    expect(await sum(metricNames.holds)).toBe(1);
    expect(spans.getFinishedSpans()).toHaveLength(0); // uncontended: metrics only

    const tracer = tracerProvider.getTracer("test");
    let parentSpanId = "";
    const waiting = tracer.startActiveSpan("POST /invoices/42", async (parent) => {
      parentSpanId = parent.spanContext().spanId;
      try {
        return await waiter.createLock("invoice:42").acquire();
      } finally {
        parent.end();
      }
    });
    await waitFor(async () => (await sum(metricNames.waiters)) === 1, {
      message: "the waiter to be counted",
    });
    expect(await sum(metricNames.contended, { "zk_dist_lock.resource": "invoice:#" })).toBe(1);
    await held.release();
    const token = await waiting;

    const [span] = spans.getFinishedSpans().filter((s) => s.name === "zk-dist-lock acquire");
    expect(span?.parentSpanContext?.spanId).toBe(parentSpanId);
    expect(span?.attributes).toMatchObject({
      "zk_dist_lock.resource": "invoice:42",
      "zk_dist_lock.outcome": "acquired",
      "zk_dist_lock.token": token.toString(),
      "zk_dist_lock.recipe": "lock",
      "zk_dist_lock.mode": "exclusive",
    });
    expect(await sum(metricNames.waiters)).toBe(0);
    expect(await sum(metricNames.holds)).toBe(1);

    const waits = await points<Histogram>(metricNames.acquireDuration);
    const outcome = (waited: boolean) =>
      waits.find(
        (p) =>
          p.attributes["zk_dist_lock.waited"] === waited &&
          p.attributes["zk_dist_lock.outcome"] === "acquired",
      );
    expect(outcome(false)?.value.count).toBe(1);
    expect(outcome(true)?.value.count).toBe(1);
    const holdTimes = await points<Histogram>(metricNames.holdDuration);
    expect(holdTimes.map((p) => [p.attributes["zk_dist_lock.hold.end"], p.value.count])).toEqual([
      ["released", 1],
    ]);
  });

  it("records timeouts and aborts as outcomes, with a failed span, and a lost hold", async () => {
    const rootDir = `/otel-${Date.now()}`;
    const { manager: holder, client } = await open(rootDir);
    const { manager: waiter } = await open(rootDir);
    await holder.createLock("report").acquire();
    await expect(waiter.createLock("report").acquire({ timeout: 100 })).rejects.toSatisfy((e) =>
      isLockError(e, "TIMEOUT"),
    );
    const controller = new AbortController();
    const aborted = waiter.createLock("report").acquire({ signal: controller.signal });
    await waitFor(async () => (await sum(metricNames.waiters)) === 1, {
      message: "the waiter to be counted",
    });
    controller.abort();
    await expect(aborted).rejects.toSatisfy((e) => isLockError(e, "ABORTED"));

    const outcomes = (await points<Histogram>(metricNames.acquireDuration)).map(
      (p) => `${p.attributes["zk_dist_lock.outcome"]}:${p.value.count}`,
    );
    expect(outcomes.sort()).toEqual(["aborted:1", "acquired:1", "timeout:1"]);
    const failed = spans.getFinishedSpans().map((s) => [s.attributes["zk_dist_lock.outcome"], s.status.code]);
    expect(failed).toEqual([
      ["timeout", 2],
      ["aborted", 2],
    ]);
    expect(await sum(metricNames.waiters)).toBe(0);

    client.close(); // the holder's session ends: its hold is lost
    await waitFor(async () => (await sum(metricNames.lost)) === 1, { message: "the loss to be counted" });
    expect(await sum(metricNames.holds)).toBe(0);
  });

  it("keeps resource attributes low-cardinality, or leaves them out", async () => {
    expect(collapseDigits("user:123/order:4567")).toBe("user:#/order:#");
    instrumentation.disable();
    enable({ resourceAttribute: () => undefined });
    const { manager } = await open(`/otel-${Date.now()}`);
    await manager.withLock("tenant:9", () => {});
    const [point] = await points(metricNames.acquireDuration);
    expect(point?.attributes).not.toHaveProperty("zk_dist_lock.resource");
    expect(trace.getActiveSpan()).toBeUndefined();
  });

  it("records without the resource attribute when resourceAttribute throws, and tells diag", async () => {
    instrumentation.disable();
    enable({
      resourceAttribute: () => {
        throw new Error("a bad shape");
      },
    });
    const logged: unknown[][] = [];
    const logger = { error: (...args: unknown[]) => logged.push(args) } as unknown as DiagLogger;
    diag.setLogger(logger, DiagLogLevel.ERROR);
    try {
      const { manager } = await open(`/otel-${Date.now()}`);
      await manager.withLock("tenant:10", () => {});
    } finally {
      diag.disable();
    }
    const [point] = await points(metricNames.acquireDuration);
    expect(point?.attributes).toMatchObject({ "zk_dist_lock.outcome": "acquired" });
    expect(point?.attributes).not.toHaveProperty("zk_dist_lock.resource");
    expect(String(logged[0]?.[0])).toContain('resourceAttribute threw for "tenant:10"');
  });
});
