import { type Range, range, type Timing } from "./stats.js";
import type { BenchResult, RunResult } from "./suite.js";

type Impl = "core" | "floor" | "curator";
type Extract = (run: RunResult, impl: Impl) => number | undefined;

/** One line of the side-by-side table: each implementation's figure and core's ratios to the others. */
export interface Row {
  scenario: string;
  metric: string;
  values: Partial<Record<Impl, Range>>;
  /** zk-dist-lock ÷ floor and ÷ Curator, computed within each run, then ranged over the runs. */
  ratios: { floor?: Range; curator?: Range };
}

/** A target of the issue and where the median ratio stands. */
export interface Target {
  name: string;
  goal: string;
  value: Range | undefined;
  met: boolean | undefined;
}

export interface Report {
  rows: Row[];
  targets: Target[];
}

const impls: Impl[] = ["core", "floor", "curator"];

function row(result: BenchResult, scenario: string, metric: string, extract: Extract): Row {
  const values: Row["values"] = {};
  for (const impl of impls) {
    const found = result.runs.map((run) => extract(run, impl)).filter((v) => v !== undefined);
    if (found.length > 0) values[impl] = range(found);
  }
  const ratio = (other: Impl) => {
    const per = result.runs.flatMap((run) => {
      const mine = extract(run, "core");
      const theirs = extract(run, other);
      return mine === undefined || theirs === undefined ? [] : [mine / theirs];
    });
    return per.length > 0 ? range(per) : undefined;
  };
  const ratios: Row["ratios"] = {};
  const floor = ratio("floor");
  const curator = ratio("curator");
  if (floor) ratios.floor = floor;
  if (curator) ratios.curator = curator;
  return { scenario, metric, values, ratios };
}

/** The table rows and the targets, from the runs. */
export function buildReport(result: BenchResult): Report {
  const rows: Row[] = [
    row(result, "U uncontended", "cycles/s", (r, i) => r.uncontended[i]?.perSecond),
    row(result, "U uncontended", "p50 ms", (r, i) => r.uncontended[i]?.p50Ms),
    row(result, "U uncontended", "p99 ms", (r, i) => r.uncontended[i]?.p99Ms),
    row(result, "U uncontended", "CPU µs/cycle", (r, i) => r.uncontended[i]?.cpuUsPerCycle),
    row(result, `M ${result.options.resources} new resources`, "ops/s", (r, i) => r.many[i]?.perSecond),
  ];
  for (const k of result.options.sessions) {
    const c = (pick: (f: NonNullable<RunResult["contended"][string]["core"]>) => number): Extract => {
      return (r, i) => {
        const figures = r.contended[k]?.[i];
        return figures && pick(figures);
      };
    };
    const scenario = `C contended, K=${k}`;
    rows.push(
      row(
        result,
        scenario,
        "handoffs/s",
        c((f) => f.handoffsPerSecond),
      ),
      row(
        result,
        scenario,
        "p50 wait ms",
        c((f) => f.p50WaitMs),
      ),
      row(
        result,
        scenario,
        "p99 wait ms",
        c((f) => f.p99WaitMs),
      ),
      row(
        result,
        scenario,
        "p50 handoff ms",
        c((f) => f.p50HandoffMs),
      ),
      row(
        result,
        scenario,
        "p99 handoff ms",
        c((f) => f.p99HandoffMs),
      ),
      row(
        result,
        scenario,
        "fairness min/max per session",
        c((f) => f.minPerSession / f.maxPerSession),
      ),
      row(
        result,
        scenario,
        "overlaps",
        c((f) => f.overlaps),
      ),
    );
  }
  return { rows, targets: targets(result, rows) };
}

function targets(result: BenchResult, rows: Row[]): Target[] {
  const find = (scenario: string, metric: string) =>
    rows.find((r) => r.scenario.startsWith(scenario) && r.metric === metric);
  const atLeast = (name: string, goal: number, value: Range | undefined): Target => ({
    name,
    goal: `≥ ${goal}`,
    value,
    met: value && value.median >= goal,
  });
  const atMost = (name: string, goal: number, value: Range | undefined): Target => ({
    name,
    goal: `≤ ${goal}`,
    value,
    met: value && value.median <= goal,
  });
  const list: Target[] = [
    atLeast("U cycles/s ÷ floor", 1.2, find("U", "cycles/s")?.ratios.floor),
    atLeast("U cycles/s ÷ Curator", 1.0, find("U", "cycles/s")?.ratios.curator),
    atMost("U CPU per cycle ÷ floor", 1.25, find("U", "CPU µs/cycle")?.ratios.floor),
  ];
  for (const k of result.options.sessions.filter((k) => k >= 8)) {
    list.push(
      atLeast(
        `C K=${k} handoffs/s ÷ Curator`,
        1.0,
        find(`C contended, K=${k}`, "handoffs/s")?.ratios.curator,
      ),
      atMost(`C K=${k} p99 wait ÷ Curator`, 1.0, find(`C contended, K=${k}`, "p99 wait ms")?.ratios.curator),
    );
  }
  const overlaps = rows
    .filter((r) => r.metric === "overlaps")
    .flatMap((r) => Object.values(r.values).map((v) => v.max));
  list.push(atMost("C overlaps (any K, any implementation)", 0, range([Math.max(...overlaps)])));
  list.push(atLeast("M ops/s ÷ Curator", 1.5, find("M", "ops/s")?.ratios.curator));
  if (result.runs.some((run) => run.integration)) {
    list.push(
      atMost("Nest overhead on U (p50, % over core withLock)", 5, overhead(result, "nest")),
      atMost("Express middleware overhead on U (p50, %)", 5, overhead(result, "expressMiddleware")),
    );
  }
  return list;
}

type IntegrationPath = keyof NonNullable<RunResult["integration"]>;

/**
 * Extra median time per cycle of an integration over bare core's withLock, in percent, per run.
 * The median, not cycles/s: on a shared machine the total is swayed by a few stalls from other
 * load, which would drown a difference of a few percent.
 */
function overhead(result: BenchResult, path: "nest" | "expressMiddleware"): Range {
  return range(
    result.runs.flatMap((run) => {
      const i = run.integration;
      return i ? [(i[path].p50Ms / i.core.p50Ms - 1) * 100] : [];
    }),
  );
}

const integrationPaths: [IntegrationPath, string][] = [
  ["core", "core `manager.withLock()`"],
  ["nest", "Nest `@DistributedLock()` method (app context, no HTTP)"],
  ["expressMiddleware", "Express `distributedLock()` middleware, called directly (no HTTP)"],
  ["httpBare", "HTTP GET, Express route without a lock (keep-alive)"],
  ["httpLocked", "HTTP GET, same route behind `distributedLock()`"],
];

type ObservabilityPath = keyof NonNullable<RunResult["observability"]>;
const observabilityPaths: [ObservabilityPath, string][] = [
  ["silent", "nobody (no subscriber)"],
  ["subscribed", "an empty `zk-dist-lock:acquire` subscriber"],
  ["openTelemetry", "`@zk-dist-lock/opentelemetry` (SDK metrics)"],
];

const num = (value: number): string => {
  if (!Number.isFinite(value)) return "—";
  if (Number.isInteger(value)) return value.toString();
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toString();
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
};

/** `median (min–max)`, or the one value when every run agrees or there was one run. */
export const formatRange = (r: Range | undefined, suffix = ""): string => {
  if (!r || !Number.isFinite(r.median)) return "—";
  if (r.min === r.max) return `${num(r.median)}${suffix}`;
  return `${num(r.median)}${suffix} (${num(r.min)}–${num(r.max)})`;
};

const table = (header: string[], lines: string[][]) =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...lines.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");

/** The whole report as Markdown, which also reads well in a terminal. */
export function renderMarkdown(result: BenchResult, report: Report, meta: Record<string, string>): string {
  const { runs } = result.options;
  const out: string[] = [];
  out.push(
    `Figures: median over ${runs} run${runs === 1 ? "" : "s"} (min–max). Ratios are zk-dist-lock ÷ the other, ` +
      "computed within each run, then ranged over the runs. Lower is better for ms, higher for /s.",
  );
  out.push(
    Object.entries(meta)
      .map(([k, v]) => `${k}: ${v}`)
      .join(" · "),
  );
  if (result.curatorSkipped) out.push(`**${result.curatorSkipped}**`);
  out.push(
    table(
      ["Scenario", "Metric", "zk-dist-lock", "floor", "Curator", "÷ floor", "÷ Curator"],
      report.rows.map((r) => [
        r.scenario,
        r.metric,
        formatRange(r.values.core),
        formatRange(r.values.floor),
        formatRange(r.values.curator),
        formatRange(r.ratios.floor, "×"),
        formatRange(r.ratios.curator, "×"),
      ]),
    ),
  );
  out.push("Targets (on the median ratio):");
  out.push(
    table(
      ["Target", "Goal", "Now", "Met"],
      report.targets.map((t) => [
        t.name,
        t.goal,
        formatRange(t.value),
        t.met === undefined ? "not measured" : t.met ? "yes" : "**no**",
      ]),
    ),
  );
  if (result.runs.some((run) => run.integration)) {
    const figure = (path: IntegrationPath, pick: (t: Timing) => number) =>
      range(result.runs.flatMap((run) => (run.integration ? [pick(run.integration[path])] : [])));
    out.push("Integrations, on one shared manager (U cycle, blocks interleaved):");
    out.push(
      table(
        ["Path", "cycles/s", "p50 ms", "p99 ms", "p50 overhead vs core"],
        integrationPaths.map(([path, label]) => [
          label,
          formatRange(figure(path, (t) => t.perSecond)),
          formatRange(figure(path, (t) => t.p50Ms)),
          formatRange(figure(path, (t) => t.p99Ms)),
          path === "nest" || path === "expressMiddleware"
            ? formatRange(overhead(result, path), " %")
            : path === "httpLocked"
              ? `+${formatRange(
                  range(
                    result.runs.flatMap((run) =>
                      run.integration
                        ? [run.integration.httpLocked.p50Ms - run.integration.httpBare.p50Ms]
                        : [],
                    ),
                  ),
                  " ms",
                )} p50 over bare HTTP`
              : "",
        ]),
      ),
    );
  }
  if (result.runs.some((run) => run.observability)) {
    const figure = (path: ObservabilityPath, pick: (t: Timing) => number) =>
      range(result.runs.flatMap((run) => (run.observability ? [pick(run.observability[path])] : [])));
    // Within each run: this setting's p50 over the silent one's, then ranged over the runs.
    const cost = (path: ObservabilityPath) =>
      range(
        result.runs.flatMap((run) =>
          run.observability
            ? [(run.observability[path].p50Ms / run.observability.silent.p50Ms - 1) * 100]
            : [],
        ),
      );
    out.push("Observability, U cycle on one manager (blocks interleaved):");
    out.push(
      table(
        ["Listening", "cycles/s", "p50 ms", "p99 ms", "p50 overhead vs nobody"],
        observabilityPaths.map(([path, label]) => [
          label,
          formatRange(figure(path, (t) => t.perSecond)),
          formatRange(figure(path, (t) => t.p50Ms)),
          formatRange(figure(path, (t) => t.p99Ms)),
          path === "silent" ? "" : formatRange(cost(path), " %"),
        ]),
      ),
    );
  }
  const raw = Object.keys(result.runs[0]?.rawOps ?? {}) as (keyof RunResult["rawOps"])[];
  out.push("Raw ZooKeeper requests (the floor's building blocks, one client, strictly sequential):");
  out.push(
    table(
      ["Request", "p50 ms", "p99 ms"],
      raw.map((op) => [
        op,
        formatRange(range(result.runs.map((r) => r.rawOps[op].p50Ms))),
        formatRange(range(result.runs.map((r) => r.rawOps[op].p99Ms))),
      ]),
    ),
  );
  if (result.memory) {
    const m = result.memory;
    out.push(
      `Memory: ${m.count} locks held at once by one manager cost ${Math.round(m.heapPerLock)} B of heap and ` +
        `${Math.round(m.rssPerLock)} B of RSS each (after GC); once released, ${Math.round(m.heapAfterReleasePerLock)} B ` +
        "each stays (the manager's cache of known directories, bounded at 10,000).",
    );
  }
  return `${out.join("\n\n")}\n`;
}
