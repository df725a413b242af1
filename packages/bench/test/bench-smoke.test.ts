// A smoke run of the whole harness with tiny figures: it proves every scenario runs and reports,
// not how fast anything is (that is `pnpm bench`).
import { describe, expect, inject, it } from "vitest";
import { parseCli } from "../src/options.js";
import { buildReport, renderMarkdown } from "../src/report.js";
import { curatorUnavailable } from "../src/scenarios/curator.js";
import { runBench } from "../src/suite.js";

const connect = inject("zkConnect");

describe("pnpm bench, smoke run", () => {
  it("runs every scenario once and reports figures, ratios and zero overlaps", async () => {
    const log: string[] = [];
    const result = await runBench(
      {
        connect,
        runs: 1,
        cycles: 20,
        blocks: 2,
        sessions: [2],
        durationMs: 300,
        resources: 10,
        rawSamples: 5,
        memoryLocks: 50,
        integrationCycles: 10,
        curator: true,
      },
      (line) => log.push(line),
    );
    const report = buildReport(result);
    const markdown = renderMarkdown(result, report, { run: "smoke" });
    const curator = curatorUnavailable() === undefined;
    if (!curator) {
      // Said in the output, as `pnpm bench` says it.
      expect(result.curatorSkipped).toMatch(/^Curator: /);
      expect(markdown).toContain(result.curatorSkipped);
      console.info(`${result.curatorSkipped}: the Curator part of the smoke run was skipped.`);
    }

    const [run] = result.runs;
    expect(run?.uncontended.core?.perSecond).toBeGreaterThan(0);
    expect(run?.uncontended.floor?.perSecond).toBeGreaterThan(0);
    expect(run?.uncontended.core?.cpuUsPerCycle).toBeGreaterThan(0);
    expect(run?.uncontended.curator?.cpuUsPerCycle).toBeUndefined(); // another process: not measured
    expect(run?.many.core?.perSecond).toBeGreaterThan(0);
    expect(run?.contended[2]?.core?.overlaps).toBe(0);
    expect(run?.contended[2]?.core?.minPerSession).toBeGreaterThan(0);
    expect(run?.contended[2]?.core?.p50HandoffMs).toBeGreaterThan(0);
    expect(Object.keys(run?.rawOps ?? {})).toEqual([
      "create",
      "get_children",
      "exists",
      "delete",
      "create ∥ get_children",
    ]);
    expect(run?.integration?.nest.perSecond).toBeGreaterThan(0);
    expect(run?.integration?.expressMiddleware.perSecond).toBeGreaterThan(0);
    expect(run?.integration?.httpLocked.perSecond).toBeGreaterThan(0);
    expect(run?.observability?.subscribed.perSecond).toBeGreaterThan(0);
    expect(run?.observability?.openTelemetry.perSecond).toBeGreaterThan(0);
    expect(markdown).toContain("Observability, U cycle");
    expect(result.memory?.count).toBe(50);
    // Reported, not judged: with 50 locks the per-lock heap figure is GC noise and may be negative.
    expect(Number.isFinite(result.memory?.heapPerLock)).toBe(true);

    const u = report.rows.find((row) => row.scenario.startsWith("U") && row.metric === "cycles/s");
    expect(u?.ratios.floor?.median).toBeGreaterThan(0);
    const overlaps = report.rows.find((row) => row.metric === "overlaps");
    expect(overlaps?.values.core?.max).toBe(0);
    if (curator) {
      expect(run?.contended[2]?.curator?.overlaps).toBe(0);
      expect(run?.contended[2]?.curator?.p50HandoffMs).toBeGreaterThan(0);
      expect(u?.ratios.curator?.median).toBeGreaterThan(0);
      expect(report.rows.find((row) => row.scenario.startsWith("M"))?.ratios.curator).toBeDefined();
    } else {
      expect(u?.ratios.curator).toBeUndefined();
    }
    expect(markdown).toContain("| U uncontended | cycles/s |");
    expect(report.targets.find((t) => t.name.startsWith("C overlaps"))?.met).toBe(true);
  });
});

describe("the command line", () => {
  it("takes flags, a quick mode, and refuses nonsense", () => {
    expect(parseCli([]).bench).toMatchObject({ runs: 3, sessions: [2, 8, 32], curator: true });
    expect(parseCli(["--quick", "--runs", "4", "--sessions", "2,5", "--no-curator"]).bench).toMatchObject({
      runs: 4,
      sessions: [2, 5],
      durationMs: 1000,
      curator: false,
    });
    expect(() => parseCli(["--runs", "0"])).toThrow(/--runs needs an integer ≥ 1/);
    expect(() => parseCli(["--bogus"])).toThrow();
  });
});
