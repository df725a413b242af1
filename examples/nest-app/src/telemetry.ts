// OpenTelemetry for the app's locks: @zk-dist-lock/opentelemetry records into the SDK's providers.
// This example keeps the metrics in memory and prints a summary; a real app registers exporters
// (OTLP to a collector, Prometheus, …) on the same providers, usually through @opentelemetry/sdk-node.
import { context, metrics } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  AggregationTemporality,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { instrumentZkDistLock, metricNames } from "@zk-dist-lock/opentelemetry";

/** Starts recording the locks' metrics; the returned summary() reads them, stop() ends it all. */
export function startTelemetry() {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  metrics.setGlobalMeterProvider(meterProvider);
  const instrumentation = instrumentZkDistLock();
  return {
    /** "N acquisitions, W waited (p50-ish mean wait M ms)", from the acquire.duration histogram. */
    async summary(): Promise<string> {
      await reader.forceFlush();
      const found = exporter
        .getMetrics()
        .at(-1)
        ?.scopeMetrics.flatMap((scope) => scope.metrics)
        .find((metric) => metric.descriptor.name === metricNames.acquireDuration);
      const points = (found?.dataPoints ?? []) as { attributes: Record<string, unknown>; value: Histogram }[];
      const acquired = points.filter((p) => p.attributes["zk_dist_lock.outcome"] === "acquired");
      const count = acquired.reduce((n, p) => n + p.value.count, 0);
      const waited = acquired.filter((p) => p.attributes["zk_dist_lock.waited"] === true);
      const waits = waited.reduce((n, p) => n + p.value.count, 0);
      const seconds = waited.reduce((s, p) => s + (p.value.sum ?? 0), 0);
      return `${count} acquisitions, ${waits} waited (mean wait ${waits ? ((seconds / waits) * 1000).toFixed(1) : 0} ms)`;
    },
    async stop(): Promise<void> {
      instrumentation.disable();
      await meterProvider.shutdown();
      context.disable();
    },
  };
}
