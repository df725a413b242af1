/** The smallest, middle and largest of a few run results. */
export interface Range {
  median: number;
  min: number;
  max: number;
}

/** The `p`-th percentile (0–100) of samples, nearest-rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Median and extremes of one figure over the runs. */
export function range(values: readonly number[]): Range {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: percentile(finite, 50), min: Math.min(...finite), max: Math.max(...finite) };
}

/** Throughput and latency of a batch of timed operations (milliseconds). */
export interface Timing {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export function timing(count: number, elapsedMs: number, latenciesMs: readonly number[]): Timing {
  return {
    perSecond: (count * 1000) / elapsedMs,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
  };
}
