// The figures a soak ends with.
import type { FaultRecord, OverlapSummary } from "./history.js";
import type { Row } from "./store.js";

/** Everything the closing figures need. */
export interface Outcome {
  faults: { fault: FaultRecord; stallMs: number }[];
  rows: Map<string, Row>;
  acquisitions: number;
  counts: Map<string, number>;
  tokensRepeated: number;
  overlaps: OverlapSummary;
  acquireLimitMs: number;
  longestAcquireMs: number;
  overdueAcquires: number;
  lockNodes: { waitedMs: number; left: string[] };
  violations: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mark = (ok: boolean) => (ok ? "ok" : "VIOLATED");

/** The closing report, as lines. */
export function formatOutcome(outcome: Outcome): string[] {
  const rows = [...outcome.rows.values()];
  const sum = (pick: (row: Row) => number) => rows.reduce((total, row) => total + pick(row), 0);
  const acknowledged = sum((row) => row.applied);
  const lostFenced = sum((row) => row.applied - row.value);
  const lostShadow = sum((row) => row.shadowWrites - row.shadow);
  const count = (name: string) => outcome.counts.get(name) ?? 0;
  const counted = (prefix: string) =>
    [...outcome.counts]
      .filter(([name]) => name.startsWith(prefix))
      .map(([name, n]) => `${n} ${name.slice(prefix.length)}`)
      .join(", ") || "none";

  const byKind = new Map<string, number[]>();
  for (const { fault, stallMs } of outcome.faults)
    byKind.set(fault.kind, [...(byKind.get(fault.kind) ?? []), stallMs]);
  const kindWidth = Math.max(0, ...[...byKind.keys()].map((kind) => kind.length));
  const stallLines = [...byKind].map(([kind, stalls]) => {
    const sorted = [...stalls].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    return `  ${kind.padEnd(kindWidth)}  ${String(stalls.length).padStart(3)}×  longest ${seconds(sorted.at(-1)!)}, median ${seconds(median)}`;
  });

  const { overlaps, lockNodes } = outcome;
  return [
    `faults: ${outcome.faults.length}; the longest stall of the fenced writes after each (any resource):`,
    ...stallLines,
    `work: ${outcome.acquisitions} acquisitions, ${acknowledged} fenced writes acknowledged`,
    `  refused by the fence: ${count("claims refused by the fence")} reads, ${count("writes refused by the fence")} writes; skipped because the lock's signal had aborted: ${count("writes skipped: the signal had aborted")}`,
    `lost updates with fencing: ${lostFenced} of ${acknowledged} acknowledged  ${mark(lostFenced === 0)}`,
    `lost updates of the unfenced shadow, for contrast: ${lostShadow} of ${sum((row) => row.shadowWrites)} writes`,
    `accepted tokens strictly increase per resource: ${outcome.tokensRepeated} repeated in ${sum((row) => row.claims)} claims  ${mark(outcome.tokensRepeated === 0)}`,
    `overlapping holds that were both still valid: ${overlaps.violations.length}  ${mark(overlaps.violations.length === 0)}`,
    `  holds whose lock passed on while their process was frozen (the fence's job): ${overlaps.frozen}; after it was told the hold was in doubt: ${overlaps.toldSuspended}, or lost: ${overlaps.toldLost}`,
    `acquires: longest ${seconds(outcome.longestAcquireMs)} while its worker ran; over ${seconds(outcome.acquireLimitMs)} (timeout + margin): ${outcome.overdueAcquires}  ${mark(outcome.overdueAcquires === 0)}`,
    `  failed: ${counted("acquires failed: ")}`,
    `sessions expired: ${count("sessions expired")}; holds suspended ${count("holds suspended")}, reconnected ${count("holds reconnected")}, lost ${count("holds lost")}`,
    `  reported lost while their session lived on (liveness, not safety): ${count("holds reported lost while their session lived")}`,
    `  worker stalls (event loop stopped, machine overloaded): ${count("worker stalls")}; releases failed: ${counted("releases failed: ")}`,
    lockNodes.left.length === 0
      ? `lock nodes left once the workers closed: 0 (after ${seconds(lockNodes.waitedMs)} for the sessions of killed workers to expire)  ok`
      : `lock nodes left once the workers closed: ${lockNodes.left.length} after ${seconds(lockNodes.waitedMs)}: ${lockNodes.left.join(", ")}  VIOLATED`,
    `violations: ${outcome.violations}`,
  ];
}
