/**
 * Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC, what `process.hrtime` reads), the
 * same in every process of the machine: so that the soak can put the moments its workers report on
 * one time line with its own. `performance.now()` would not do: each process counts from its start.
 */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6;
