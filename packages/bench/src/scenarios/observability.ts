import { tracingChannel } from "node:diagnostics_channel";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { type AcquireContext, channelNames } from "@zk-dist-lock/core";
import { instrumentZkDistLock } from "@zk-dist-lock/opentelemetry";
import { connectManager } from "../managers.js";
import { type Timing, timing } from "../stats.js";

/** The uncontended cycle with nobody listening, with an empty channel subscriber, and with OpenTelemetry. */
export interface ObservabilitySample {
  /** Nobody subscribes: what every user without instrumentation pays. */
  silent: Timing;
  /** A TracingChannel subscriber that does nothing: the cost of publishing itself. */
  subscribed: Timing;
  /** `@zk-dist-lock/opentelemetry` recording into the SDK's metrics pipeline. */
  openTelemetry: Timing;
}

/** A reader that keeps what it is given: the SDK aggregates, nothing is exported. */
class HeldReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/**
 * Measures the three in alternating blocks on one manager (on the default client,
 * @zk-dist-lock/client, as the integrations), so that drift on a shared machine
 * hits each alike. Subscriptions are process-wide: each block subscribes before it starts and
 * unsubscribes when it ends.
 */
export async function measureObservability(
  connect: string,
  rootDir: string,
  cycles: number,
): Promise<ObservabilitySample> {
  const manager = await connectManager(connect, "client", { rootDir });
  const lock = manager.createLock("observed");
  const noop = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
  const acquire = tracingChannel<unknown, AcquireContext>(channelNames.acquire);
  const meterProvider = new MeterProvider({ readers: [new HeldReader()] });
  const setups: Record<keyof ObservabilitySample, () => () => void> = {
    silent: () => () => {},
    subscribed: () => {
      acquire.subscribe(noop);
      return () => acquire.unsubscribe(noop);
    },
    openTelemetry: () => {
      const instrumentation = instrumentZkDistLock({ meterProvider });
      return () => instrumentation.disable();
    },
  };
  const names = Object.keys(setups) as (keyof ObservabilitySample)[];
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]]));
  const elapsed = Object.fromEntries(names.map((name) => [name, 0]));
  const block = async (count: number, record: boolean, name: keyof ObservabilitySample) => {
    const teardown = setups[name]();
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      await lock.acquire();
      await lock.release();
      if (record) samples[name]!.push(performance.now() - t0);
    }
    if (record) elapsed[name]! += performance.now() - start;
    teardown();
  };
  try {
    for (const name of names) await block(Math.max(1, Math.round(cycles / 10)), false, name);
    const blocks = Math.min(10, cycles);
    for (let b = 0; b < blocks; b++) {
      for (const name of names) await block(Math.round(cycles / blocks), true, name);
    }
    return Object.fromEntries(
      names.map((name) => [name, timing(samples[name]!.length, elapsed[name]!, samples[name]!)]),
    ) as unknown as ObservabilitySample;
  } finally {
    await meterProvider.shutdown();
    await manager.close();
  }
}
