import os from "node:os";
import type { ScenarioName } from "./options.js";
import type { RawOp } from "./scenarios/floor.js";
import type { Sharing } from "./scenarios/sharing.js";
import { type ClientKind, type CoreName, clientKinds, coreNames, type ImplName } from "./scenarios/types.js";
import { type Range, range, type Timing } from "./stats.js";
import {
  type BenchResult,
  type ContendedFigures,
  type CpuFigures,
  type RunResult,
  SEMAPHORE_HOLD_MS,
  WRITE_SHARE,
} from "./suite.js";

type Extract = (run: RunResult, impl: ImplName) => number | undefined;

/** An {@link Extract} per figure: `figures` finds an implementation's figures of a run, `pick` one of them. */
const picker =
  <F>(figures: (run: RunResult, impl: ImplName) => F | undefined) =>
  (pick: (f: F) => number | undefined): Extract =>
  (r, i) => {
    const f = figures(r, i);
    return f && pick(f);
  };

/** The implementations in the order of the table's columns, with their headers. */
const impls: [ImplName, string][] = [
  ["core-client", "zk-dist-lock, client"],
  ["core-binding", "zk-dist-lock, binding"],
  ["floor-client", "floor, client"],
  ["floor-binding", "floor, binding"],
  ["curator", "Curator"],
];

/**
 * The ratios of the table, each zk-dist-lock on one client over another implementation: the floor
 * on the same client (what the recipe costs above the least a lock must do), Curator, and
 * zk-dist-lock on the other client (what the client costs).
 */
const ratioPairs = {
  "client ÷ floor": ["core-client", "floor-client"],
  "binding ÷ floor": ["core-binding", "floor-binding"],
  "client ÷ Curator": ["core-client", "curator"],
  "binding ÷ Curator": ["core-binding", "curator"],
  "client ÷ binding": ["core-client", "core-binding"],
} as const satisfies Record<string, readonly [ImplName, ImplName]>;
export type RatioName = keyof typeof ratioPairs;
const ratioNames = Object.keys(ratioPairs) as RatioName[];

/** zk-dist-lock on `kind` over `other`: the name of that ratio. */
const ratioOf = (kind: ClientKind, other: "floor" | "Curator"): RatioName => `${kind} ÷ ${other}`;

/** One line of the side-by-side table: each implementation's figure and zk-dist-lock's ratios to the others. */
export interface Row {
  scenario: string;
  metric: string;
  values: Partial<Record<ImplName, Range>>;
  /** Computed within each run, then ranged over the runs. */
  ratios: Partial<Record<RatioName, Range>>;
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

/** `compare: false` for a figure whose ratio means nothing: a witness's, or the machine's busy cores. */
function row(result: BenchResult, scenario: string, metric: string, extract: Extract, compare = true): Row {
  const values: Row["values"] = {};
  for (const [impl] of impls) {
    const found = ranged(result.runs.map((run) => extract(run, impl)));
    if (found) values[impl] = found;
  }
  const ratios: Row["ratios"] = {};
  for (const name of compare ? ratioNames : []) {
    const [mine, theirs] = ratioPairs[name];
    const found = ranged(result.runs.map((run) => quotient(extract(run, mine), extract(run, theirs))));
    if (found) ratios[name] = found;
  }
  return { scenario, metric, values, ratios };
}

const quotient = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a / b;

const ranged = (values: (number | undefined)[]): Range | undefined => {
  const found = values.filter((v): v is number => v !== undefined);
  return found.length > 0 ? range(found) : undefined;
};

/** The contended figures of one mode; `figures` picks each implementation's figures of a run. */
function contendedRows(
  result: BenchResult,
  scenario: string,
  figures: (run: RunResult, impl: ImplName) => ContendedFigures | undefined,
): Row[] {
  const c = picker(figures);
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
    ...cpuRows(result, scenario, "handoff", figures),
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

/** The metric of the machine's busy cores, which says how many it has. */
export const busyCoresMetric = `machine busy cores (of ${os.cpus().length})`;

/**
 * CPU time per hold (`per`: a handoff, an op) of each implementation's own processes and of
 * ZooKeeper over the same loops, and the machine's busy cores then: where a mode's time goes.
 */
function cpuRows(
  result: BenchResult,
  scenario: string,
  per: string,
  figures: (run: RunResult, impl: ImplName) => CpuFigures | undefined,
): Row[] {
  const c = picker(figures);
  return [
    row(
      result,
      scenario,
      `CPU µs/${per}`,
      c((f) => f.cpuUsPerHold),
    ),
    row(
      result,
      scenario,
      `ZooKeeper CPU µs/${per}`,
      c((f) => f.serverCpuUsPerHold),
    ),
    row(
      result,
      scenario,
      busyCoresMetric,
      c((f) => f.busyCores),
      false,
    ),
  ];
}

/**
 * The read-mostly lock's or the semaphore's figures, in both modes: zk-dist-lock on the bench's one
 * event loop or with a process per session, against Curator's one measurement of the run.
 */
function sharingRows(result: BenchResult, kind: Sharing["kind"]): Row[] {
  if (!result.runs.some((run) => run.sharing[kind])) return [];
  return modes.flatMap((mode) => {
    const scenario = sharingName(kind, result.options, mode);
    const figures = (run: RunResult, impl: ImplName) => {
      const of = run.sharing[kind];
      return mode === "K processes" && isCore(impl) ? of?.processes[impl] : of?.oneLoop[impl];
    };
    const s = picker(figures);
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
      ...cpuRows(result, scenario, "op", figures),
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

const isCore = (impl: ImplName): impl is CoreName => (coreNames as readonly ImplName[]).includes(impl);

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
        i === "curator" ? r.contended[k]?.curator : isCore(i) ? r.contendedProcesses[k]?.[i] : undefined,
      ),
    );
  }
  rows.push(...sharingRows(result, "read-mostly"), ...sharingRows(result, "semaphore"));
  const measured = rows.filter((r) => Object.keys(r.values).length > 0);
  return { rows: measured, targets: targets(result, measured) };
}

/** Where the runs were measured, for names: "on loopback" or "at 1 ms RTT". */
export const networkName = (rttMs: number) => (rttMs > 0 ? `at ${rttMs} ms RTT` : "on loopback");

function targets(result: BenchResult, rows: Row[]): Target[] {
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
  // Issue 19's targets hold for zk-dist-lock on either client (each against the floor on its own client).
  const perClient = (figure: string, other: "floor" | "Curator", row: Row | undefined, suffix = "") =>
    clientKinds.map((kind) => ({
      name: `${figure}, ${ratioOf(kind, other)}${suffix}`,
      value: row?.ratios[ratioOf(kind, other)],
    }));
  if (selected("u")) {
    const u = find("U uncontended", "cycles/s");
    const cpu = find("U uncontended", "CPU µs/cycle");
    // Over a network a cycle is 2 round trips against the floor's and Curator's 3: 1.5× at most.
    list.push(
      ...perClient("U cycles/s", "floor", u).map((t) => atLeast(t.name, network ? 1.4 : 1.15, t.value)),
      ...perClient("U cycles/s", "Curator", u).map((t) => atLeast(t.name, network ? 1.4 : 1.0, t.value)),
      ...perClient("U CPU per cycle", "floor", cpu).map((t) => atMost(t.name, 1.25, t.value)),
      // Issue 15: the TypeScript client costs no more CPU per cycle than the binding.
      atMost("U CPU per cycle, client ÷ binding", 1.0, cpu?.ratios["client ÷ binding"]),
    );
  }
  for (const k of selected("c") ? result.options.sessions.filter((k) => k >= 8) : []) {
    if (!network) {
      const loop = ", one event loop";
      list.push(
        ...perClient(`C K=${k} handoffs/s`, "Curator", find(oneLoop(k), "handoffs/s"), loop).map((t) =>
          atLeast(t.name, 1.0, t.value),
        ),
        ...perClient(`C K=${k} p99 wait`, "Curator", find(oneLoop(k), "p99 wait ms"), loop).map((t) =>
          atMost(t.name, 1.0, t.value),
        ),
      );
    }
    const fair = ", K processes";
    list.push(
      ...perClient(`C K=${k} handoffs/s`, "Curator", find(inProcesses(k), "handoffs/s"), fair).map((t) =>
        atLeast(t.name, 1.2, t.value),
      ),
    );
    if (network) {
      list.push(
        ...perClient(`C K=${k} p50 handoff`, "Curator", find(inProcesses(k), "p50 handoff ms"), fair).map(
          (t) => atMost(t.name, 0.75, t.value),
        ),
      );
    }
  }
  // The largest figure of any implementation in any run: undefined when no such row was measured.
  const worst = (metric: string, scenario: string) => {
    const values = rows
      .filter((r) => r.metric === metric && r.scenario.startsWith(scenario))
      .flatMap((r) => Object.values(r.values).map((v) => v.max));
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
    const m = find(`M ${result.options.resources} new resources`, "ops/s");
    list.push(...perClient("M ops/s", "Curator", m).map((t) => atLeast(t.name, 1.5, t.value)));
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
export const num = (value: number | undefined): string => {
  if (value === undefined || !Number.isFinite(value)) return "—";
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
    `Figures: median over ${runs} run${runs === 1 ? "" : "s"} (min–max). zk-dist-lock runs on each of its ` +
      "clients: **client** is `@zk-dist-lock/client` (what `ZkLockManager.connect()` makes by default), " +
      '**binding** the npm `zookeeper` binding (`connect(…, { client: "zookeeper" })`); the floor is written ' +
      "by hand on each. Ratios are zk-dist-lock on a client ÷ the other, computed within each run, then " +
      "ranged over the runs: ÷ floor against the floor on the same client, and client ÷ binding between " +
      "zk-dist-lock's two clients. Lower is better for ms and µs, higher for /s.",
  );
  out.push(
    Object.entries(meta)
      .map(([k, v]) => `${k}: ${v}`)
      .join(" · "),
  );
  const rtts = networks.map(({ result }) => result.options.rttMs);
  if (!rtts.includes(0)) out.push("Targets on loopback: not measured (add 0 to --rtt).");
  if (!rtts.some((rtt) => rtt > 0)) out.push("Targets over a network: not measured (add 1 to --rtt).");
  // A property of the machine, not of a network setting: said once, above every section.
  const cpuSkipped = networks.find(({ result }) => result.cpuSkipped)?.result.cpuSkipped;
  if (cpuSkipped) out.push(`${cpuSkipped}.`);
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
  // The scenarios with a floor (U, M) and those without, each table with the columns it fills.
  const withFloor = (r: Row) => clientKinds.some((kind) => r.values[`floor-${kind}`]);
  out.push(
    ...[report.rows.filter(withFloor), report.rows.filter((r) => !withFloor(r))]
      .filter((rows) => rows.length > 0)
      .map(figuresTable),
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
    out.push("Integrations, on one shared manager on the client (U cycle, blocks interleaved):");
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
    out.push("Observability, U cycle on one manager on the client (blocks interleaved):");
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
  const raw = Object.keys(result.runs[0]?.rawOps.binding ?? {}) as RawOp[];
  out.push(
    "Raw ZooKeeper requests (the floor's building blocks, one client of each kind, strictly sequential):",
  );
  const rawFigure = (kind: ClientKind, op: RawOp, pick: "p50Ms" | "p99Ms") =>
    formatRange(range(result.runs.map((r) => r.rawOps[kind][op][pick])));
  out.push(
    table(
      ["Request", ...clientKinds.flatMap((kind) => [`p50 ms, ${kind}`, `p99 ms, ${kind}`])],
      raw.map((op) => [
        op,
        ...clientKinds.flatMap((kind) => [rawFigure(kind, op, "p50Ms"), rawFigure(kind, op, "p99Ms")]),
      ]),
    ),
  );
  for (const kind of clientKinds) {
    const m = result.memory[kind];
    if (!m) continue;
    out.push(
      `Memory on the ${kind}: ${m.count} locks held at once by one manager cost ${Math.round(m.heapPerLock)} B of ` +
        `heap and ${Math.round(m.rssPerLock)} B of RSS each (after GC); once released, ` +
        `${Math.round(m.heapAfterReleasePerLock)} B each stays (the manager's cache of known directories, bounded at 10,000).`,
    );
  }
  return out;
}

/** Rows as a table with a column per implementation and per ratio, leaving out the columns none of them fills. */
function figuresTable(rows: readonly Row[]): string {
  const values = impls.filter(([impl]) => rows.some((r) => r.values[impl]));
  const ratios = ratioNames.filter((name) => rows.some((r) => r.ratios[name]));
  return table(
    ["Scenario", "Metric", ...values.map(([, header]) => header), ...ratios],
    rows.map((r) => [
      r.scenario,
      r.metric,
      ...values.map(([impl]) => formatRange(r.values[impl])),
      ...ratios.map((name) => formatRange(r.ratios[name], "×")),
    ]),
  );
}
