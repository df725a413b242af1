import type { ScenarioName } from "./options.js";
import type { Sharing } from "./scenarios/sharing.js";
import { type Range, range, type Timing } from "./stats.js";
import {
  type BenchResult,
  type ContendedFigures,
  type RunResult,
  SEMAPHORE_HOLD_MS,
  type SharingFigures,
  WRITE_SHARE,
} from "./suite.js";

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

/** A line of the czxid prototype's table: zk-dist-lock and the prototype in K processes, and Curator. */
export interface PrototypeRow {
  scenario: string;
  metric: string;
  core: Range | undefined;
  czxid: Range | undefined;
  curator: Range | undefined;
  /** The prototype ÷ Curator, within each run. */
  czxidToCurator: Range | undefined;
}

export interface Report {
  rows: Row[];
  prototype: PrototypeRow[];
  targets: Target[];
}

/** The scenario names of the contended tables, one per mode; the tables say what each mode is. */
export const oneLoop = (k: number) => `C contended, K=${k}, one event loop`;
export const inProcesses = (k: number) => `C contended, K=${k}, K processes`;

type Mode = "one event loop" | "K processes";
const modes: Mode[] = ["one event loop", "K processes"];

/** The scenario names of the read-mostly and semaphore tables, one per mode. */
export const sharingName = (kind: Sharing["kind"], options: BenchResult["options"], mode: Mode) =>
  kind === "read-mostly"
    ? `R read-mostly, K=${options.sharingSessions} (1 in ${Math.round(1 / WRITE_SHARE)} exclusive), ${mode}`
    : `S semaphore, K=${options.sharingSessions}, P=${options.permits}, ${mode}`;

const impls: Impl[] = ["core", "floor", "curator"];

/** `compare: false` for a witness's figure, whose ratio means nothing. */
function row(result: BenchResult, scenario: string, metric: string, extract: Extract, compare = true): Row {
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
  if (!compare) return { scenario, metric, values, ratios };
  const floor = ratio("floor");
  const curator = ratio("curator");
  if (floor) ratios.floor = floor;
  if (curator) ratios.curator = curator;
  return { scenario, metric, values, ratios };
}

const percent = (share: number | undefined) => (share === undefined ? undefined : share * 100);

const ranged = (values: (number | undefined)[]): Range | undefined => {
  const found = values.filter((v): v is number => v !== undefined);
  return found.length > 0 ? range(found) : undefined;
};

/** The contended figures of one mode; `figures` picks each implementation's figures of a run. */
function contendedRows(
  result: BenchResult,
  scenario: string,
  figures: (run: RunResult, impl: Impl) => ContendedFigures | undefined,
): Row[] {
  const c =
    (pick: (f: ContendedFigures) => number | undefined): Extract =>
    (r, i) => {
      const f = figures(r, i);
      return f && pick(f);
    };
  const rows = [
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
  ];
  const tokens = row(
    result,
    scenario,
    "token order violations",
    c((f) => f.tokenViolations),
  );
  if (Object.keys(tokens.values).length > 0) rows.push(tokens);
  return rows;
}

/**
 * The read-mostly lock's or the semaphore's figures, in both modes: zk-dist-lock on the bench's one
 * event loop or with a process per session, against Curator's one measurement of the run.
 */
function sharingRows(result: BenchResult, kind: Sharing["kind"]): Row[] {
  if (!result.runs.some((run) => run.sharing[kind])) return [];
  return modes.flatMap((mode) => {
    const scenario = sharingName(kind, result.options, mode);
    const figures = (run: RunResult, impl: Impl) => {
      const of = run.sharing[kind];
      return mode === "K processes" && impl === "core" ? of?.processes : of?.oneLoop[impl];
    };
    const s =
      (pick: (f: SharingFigures) => number | undefined): Extract =>
      (r, i) => {
        const f = figures(r, i);
        return f && pick(f);
      };
    const reads = kind === "read-mostly";
    const rows = [
      row(
        result,
        scenario,
        "ops/s",
        s((f) => f.opsPerSecond),
      ),
      row(
        result,
        scenario,
        reads ? "p50 read wait ms" : "p50 wait ms",
        s((f) => f.p50WaitMs),
      ),
      row(
        result,
        scenario,
        reads ? "p99 read wait ms" : "p99 wait ms",
        s((f) => f.p99WaitMs),
      ),
      ...(reads
        ? [
            row(
              result,
              scenario,
              "p50 write wait ms",
              s((f) => f.p50WriteWaitMs),
            ),
            row(
              result,
              scenario,
              "p99 write wait ms",
              s((f) => f.p99WriteWaitMs),
            ),
          ]
        : []),
      row(
        result,
        scenario,
        "fairness min/max per session",
        s((f) => f.minPerSession / f.maxPerSession),
      ),
      row(
        result,
        scenario,
        reads ? "most readers at once" : "most holders at once",
        s((f) => f.maxHolders),
        false,
      ),
      ...(reads
        ? [
            row(
              result,
              scenario,
              "overlaps",
              s((f) => f.overlaps),
              false,
            ),
          ]
        : []),
      row(
        result,
        scenario,
        "token order violations",
        s((f) => f.tokenViolations),
        false,
      ),
    ];
    return rows.filter((r) => Object.keys(r.values).length > 0);
  });
}

/**
 * The czxid prototype against zk-dist-lock, both with a process per session, and Curator: what a
 * fencing token that needs no re-list does to handoffs.
 */
function prototypeRows(result: BenchResult): PrototypeRow[] {
  const rows: PrototypeRow[] = [];
  for (const k of result.options.sessions) {
    if (!result.runs.some((run) => run.contendedProcesses[k]?.czxid)) continue;
    const line = (metric: string, pick: (f: ContendedFigures) => number | undefined): PrototypeRow => {
      const of = (f: ContendedFigures | undefined) => f && pick(f);
      return {
        scenario: `C contended, K=${k}`,
        metric,
        core: ranged(result.runs.map((r) => of(r.contendedProcesses[k]?.core))),
        czxid: ranged(result.runs.map((r) => of(r.contendedProcesses[k]?.czxid))),
        curator: ranged(result.runs.map((r) => of(r.contended[k]?.curator))),
        czxidToCurator: ranged(
          result.runs.map((r) => {
            const mine = of(r.contendedProcesses[k]?.czxid);
            const theirs = of(r.contended[k]?.curator);
            return mine === undefined || theirs === undefined ? undefined : mine / theirs;
          }),
        ),
      };
    };
    rows.push(
      line("handoffs/s", (f) => f.handoffsPerSecond),
      line("p50 handoff ms", (f) => f.p50HandoffMs),
      line("p99 handoff ms", (f) => f.p99HandoffMs),
      line("% granted by the watch alone", (f) => percent(f.byWatchShare)),
      line("% waited for a stat of their own node", (f) => percent(f.statOnPathShare)),
      line("overlaps", (f) => f.overlaps),
      line("token order violations", (f) => f.tokenViolations),
    );
  }
  return rows;
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
    rows.push(...contendedRows(result, oneLoop(k), (r, i) => r.contended[k]?.[i]));
  }
  for (const k of result.options.sessions) {
    if (!result.runs.some((run) => run.contendedProcesses[k])) continue;
    rows.push(
      ...contendedRows(result, inProcesses(k), (r, i) =>
        i === "core" ? r.contendedProcesses[k]?.core : i === "curator" ? r.contended[k]?.curator : undefined,
      ),
    );
  }
  rows.push(...sharingRows(result, "read-mostly"), ...sharingRows(result, "semaphore"));
  const measured = rows.filter((r) => Object.keys(r.values).length > 0);
  const prototype = prototypeRows(result);
  return { rows: measured, prototype, targets: targets(result, measured, prototype) };
}

/** Where the runs were measured, for names: "on loopback" or "at 1 ms RTT". */
export const networkName = (rttMs: number) => (rttMs > 0 ? `at ${rttMs} ms RTT` : "on loopback");

function targets(result: BenchResult, rows: Row[], prototype: PrototypeRow[]): Target[] {
  const { rttMs } = result.options;
  const network = rttMs > 0;
  const at = ` ${networkName(rttMs)}`;
  const find = (scenario: string, metric: string) =>
    rows.find((r) => r.scenario === scenario && r.metric === metric);
  const atLeast = (name: string, goal: number, value: Range | undefined): Target => ({
    name: name + at,
    goal: `≥ ${goal}`,
    value,
    met: value && value.median >= goal,
  });
  const atMost = (name: string, goal: number, value: Range | undefined): Target => ({
    name: name + at,
    goal: `≤ ${goal}`,
    value,
    met: value && value.median <= goal,
  });
  // Targets of the scenarios that ran (`--only`); one that ran without its figure says "not measured".
  const selected = (...names: ScenarioName[]) =>
    names.some((name) => result.options.scenarios.includes(name));
  const list: Target[] = [];
  if (selected("u")) {
    const u = find("U uncontended", "cycles/s");
    // Over a network a cycle is 2 round trips against the floor's and Curator's 3: 1.5× at most.
    list.push(
      atLeast("U cycles/s ÷ floor", network ? 1.4 : 1.15, u?.ratios.floor),
      atLeast("U cycles/s ÷ Curator", network ? 1.4 : 1.0, u?.ratios.curator),
      atMost("U CPU per cycle ÷ floor", 1.25, find("U uncontended", "CPU µs/cycle")?.ratios.floor),
    );
  }
  for (const k of selected("c") ? result.options.sessions.filter((k) => k >= 8) : []) {
    if (!network) {
      list.push(
        atLeast(
          `C K=${k} handoffs/s ÷ Curator, one event loop`,
          1.0,
          find(oneLoop(k), "handoffs/s")?.ratios.curator,
        ),
        atMost(
          `C K=${k} p99 wait ÷ Curator, one event loop`,
          1.0,
          find(oneLoop(k), "p99 wait ms")?.ratios.curator,
        ),
      );
    }
    list.push(
      atLeast(
        `C K=${k} handoffs/s ÷ Curator, K processes`,
        1.2,
        find(inProcesses(k), "handoffs/s")?.ratios.curator,
      ),
    );
    if (network) {
      list.push(
        atMost(
          `C K=${k} p50 handoff ÷ Curator, K processes`,
          0.75,
          find(inProcesses(k), "p50 handoff ms")?.ratios.curator,
        ),
      );
    }
  }
  // The largest figure of any implementation in any run: undefined when no such row was measured.
  const worst = (metric: string, scenario: string) => {
    const values = [
      ...rows
        .filter((r) => r.metric === metric && r.scenario.startsWith(scenario))
        .flatMap((r) => Object.values(r.values).map((v) => v.max)),
      ...prototype
        .filter((r) => r.metric === metric && r.scenario.startsWith(scenario))
        .flatMap((r) => [r.core, r.czxid, r.curator].flatMap((v) => (v ? [v.max] : []))),
    ];
    return values.length > 0 ? range([Math.max(...values)]) : undefined;
  };
  if (selected("c")) list.push(atMost("C overlaps (any K, any implementation)", 0, worst("overlaps", "C ")));
  if (selected("c", "rw"))
    list.push(atMost("token order violations (K processes)", 0, worst("token order violations", "")));
  if (selected("rw"))
    list.push(atMost("R overlaps (both modes, any implementation)", 0, worst("overlaps", "R ")));
  if (selected("semaphore")) {
    list.push(
      atMost(
        "S most holders at once (both modes, any implementation)",
        result.options.permits,
        worst("most holders at once", "S "),
      ),
    );
  }
  if (selected("m")) {
    list.push(
      atLeast(
        "M ops/s ÷ Curator",
        1.5,
        find(`M ${result.options.resources} new resources`, "ops/s")?.ratios.curator,
      ),
    );
  }
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

/** A figure with as many digits as it deserves. */
export const num = (value: number): string => {
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

/** A Markdown table. */
export const table = (header: string[], lines: string[][]) =>
  [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...lines.map((cells) => `| ${cells.join(" | ")} |`),
  ].join("\n");

/** The whole report as Markdown, which also reads well in a terminal. */
/** The runs of one network setting and their report. */
export interface Measured {
  result: BenchResult;
  report: Report;
}

const heading = (rttMs: number) =>
  rttMs > 0
    ? `### ${rttMs} ms round trip: every client through a latency proxy (${rttMs / 2} ms each way)`
    : "### Loopback: every client straight to ZooKeeper";

/** The whole report as Markdown, which also reads well in a terminal: a section per network setting. */
export function renderMarkdown(networks: readonly Measured[], meta: Record<string, string>): string {
  const runs = networks[0]?.result.options.runs ?? 0;
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
  const rtts = networks.map(({ result }) => result.options.rttMs);
  if (!rtts.includes(0)) out.push("Targets on loopback: not measured (add 0 to --rtt).");
  if (!rtts.some((rtt) => rtt > 0)) out.push("Targets over a network: not measured (add 1 to --rtt).");
  for (const { result, report } of networks) {
    out.push(heading(result.options.rttMs), ...renderNetwork(result, report));
  }
  return `${out.join("\n\n")}\n`;
}

function renderNetwork(result: BenchResult, report: Report): string[] {
  const out: string[] = [];
  if (result.curatorSkipped) out.push(`**${result.curatorSkipped}**`);
  if (result.options.processes) {
    out.push(
      "C, one event loop: zk-dist-lock's K sessions share the bench's one event loop. C, K processes (the " +
        "fair mode): each zk-dist-lock session runs in a Node process of its own, spread over the cores as a " +
        "fleet would be. Curator runs its K sessions on K threads of one JVM in both; its figures in the " +
        "K-processes rows are the same measurement as in the one-event-loop rows of that run.",
    );
  }
  if (result.runs.some((run) => Object.keys(run.sharing).length > 0)) {
    const { sharingSessions: k, permits } = result.options;
    out.push(
      `R read-mostly: ${k} sessions on one lock; each cycle a session takes it exclusively with probability ` +
        `${WRITE_SHARE} and shared otherwise, drawn from a seeded generator per session (the same choices for ` +
        "zk-dist-lock and Curator's `InterProcessReadWriteLock`); overlaps are holds begun beside a writer. " +
        `S semaphore: ${k} sessions on a semaphore of ${permits} permits (Curator's \`InterProcessSemaphoreV2\`), ` +
        `each hold lasting ${SEMAPHORE_HOLD_MS} ms so that holders overlap. R's critical section yields, as C's; ` +
        "ops/s counts holds of every session; both scenarios run in the two modes of C, and Curator's figures " +
        "in the K-processes rows are again its one measurement of the run.",
    );
  }
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
  if (report.prototype.length > 0) {
    out.push(
      "Handoff without the re-list: the bench's czxid-token prototype (`src/scenarios/czxid-lock.ts`, not " +
        "a lock for use) against zk-dist-lock, both with a process per session, and Curator:",
    );
    out.push(
      table(
        ["Scenario", "Metric", "zk-dist-lock", "czxid prototype", "Curator", "prototype ÷ Curator"],
        report.prototype.map((r) => [
          r.scenario,
          r.metric,
          formatRange(r.core),
          formatRange(r.czxid),
          formatRange(r.curator),
          formatRange(r.czxidToCurator, "×"),
        ]),
      ),
    );
  }
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
  return out;
}
