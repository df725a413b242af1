import type { DemoSummary } from "./scenario.js";

/**
 * The process exit code for a finished run: 1 when the store was fenced and still lost an update or
 * took the stale write (the invariant broke), else 0. Without fencing the lost update is the point
 * of the run, not a failure.
 *
 * @example
 * ```ts
 * process.exitCode = exitCodeOf(await runDemo(settings));
 * ```
 */
export function exitCodeOf(summary: DemoSummary): 0 | 1 {
  return summary.fenced && (summary.lostUpdates !== 0 || summary.zombie.applied) ? 1 : 0;
}

/**
 * The final summary block, as lines.
 *
 * @example
 * ```ts
 * for (const line of summaryLines(summary)) console.log(line);
 * ```
 */
export function summaryLines(summary: DemoSummary): string[] {
  const { zombie } = summary;
  const row = (name: string, value: string | number, note = "") =>
    `  ${name.padEnd(17)}${String(value).padStart(6)}   ${note}`.trimEnd();
  const stale = zombie.applied
    ? `APPLIED  worker ${zombie.worker}'s token ${zombie.token}, over counter ${zombie.before.value} and fence ${zombie.before.fence}`
    : `REFUSED  worker ${zombie.worker}'s token ${zombie.token} is below the fence ${zombie.before.fence}`;
  const lines = [
    `Summary (${summary.fenced ? "fenced" : "UNFENCED"} store)`,
    row("lock cycles", summary.cycles),
    row("updates applied", summary.applied, "writes the store acknowledged"),
    row("counter", summary.counter),
    row("lost updates", summary.lostUpdates, "updates applied - counter"),
    row("refused writes", summary.refused),
    row("refused reads", summary.refusedReads, "holds lost before they read"),
    `  stale write      ${stale}`,
    "",
  ];
  if (exitCodeOf(summary) === 1) {
    lines.push(
      `FAILED: the fenced store lost ${summary.lostUpdates} update(s)${zombie.applied ? " and took the stale write" : ""}.`,
    );
  } else if (summary.fenced) {
    lines.push(
      "OK: no update lost. ZooKeeper handed the lock on when the frozen worker's session expired, and",
      "the store refused the write it made when it woke up with its old token.",
    );
  } else {
    lines.push(
      `As expected without fencing: ${summary.lostUpdates} update(s) lost. The frozen worker woke up and wrote with`,
      "its old token, and nothing stopped it. Run `pnpm demo` without --no-fencing to see the store refuse it.",
    );
  }
  return lines;
}
