// A smoke run of the whole harness with tiny figures: it proves every scenario runs and reports,
// not how fast anything is (that is `pnpm bench`).
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { renderCapacity, runCapacity } from "../src/capacity.js";
import { packageDir } from "../src/child.js";
import { procMissing } from "../src/cpu-time.js";
import { startLatencyProxy } from "../src/latency-proxy.js";
import { parseCli, scenarioNames } from "../src/options.js";
import { buildReport, busyCoresMetric, renderMarkdown } from "../src/report.js";
import { defaultOut } from "../src/results.js";
import { curatorUnavailable } from "../src/scenarios/curator.js";
import { fromHolds } from "../src/scenarios/fleet.js";
import { fromSharingHolds, Witness } from "../src/scenarios/sharing.js";
import { clientKinds, coreNames } from "../src/scenarios/types.js";
import { runBench, type SharingRun } from "../src/suite.js";
import { ensurePath, openRequests } from "../src/zk.js";

const connect = inject("zkConnect");
/** The shared server's JVM, whose CPU time the contended measurements read; absent with ZK_CONNECT. */
const serverPid = inject("zkServerPid");

describe("pnpm bench, smoke run", () => {
  it("runs every scenario once on loopback, on both clients, and reports figures, ratios and zero overlaps", async () => {
    const log: string[] = [];
    const result = await runBench(
      {
        connect,
        serverPid,
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
        rttMs: 0,
        processes: true,
        warmUpHolds: 20,
        sharingSessions: 3,
        permits: 2,
        scenarios: scenarioNames,
      },
      (line) => log.push(line),
    );
    const report = buildReport(result);
    const markdown = renderMarkdown([{ result, report }], { run: "smoke" });
    const curator = curatorUnavailable() === undefined;
    if (!curator) {
      // Said in the output, as `pnpm bench` says it.
      expect(result.curatorSkipped).toMatch(/^Curator: /);
      expect(markdown).toContain(result.curatorSkipped);
      console.info(`${result.curatorSkipped}: the Curator part of the smoke run was skipped.`);
    }

    const [run] = result.runs;
    for (const kind of clientKinds) {
      expect(run?.uncontended[`core-${kind}`]?.perSecond).toBeGreaterThan(0);
      expect(run?.uncontended[`floor-${kind}`]?.perSecond).toBeGreaterThan(0);
      expect(run?.uncontended[`core-${kind}`]?.cpuUsPerCycle).toBeGreaterThan(0);
      expect(run?.uncontended[`floor-${kind}`]?.cpuUsPerCycle).toBeGreaterThan(0);
      expect(run?.many[`core-${kind}`]?.perSecond).toBeGreaterThan(0);
      expect(run?.many[`floor-${kind}`]?.perSecond).toBeGreaterThan(0);
      expect(run?.contended[2]?.[`core-${kind}`]?.overlaps).toBe(0);
      expect(run?.contended[2]?.[`core-${kind}`]?.minPerSession).toBeGreaterThan(0);
      expect(run?.contended[2]?.[`core-${kind}`]?.p50HandoffMs).toBeGreaterThan(0);
      expect(Object.keys(run?.rawOps[kind] ?? {})).toEqual([
        "create",
        "get_children",
        "exists",
        "delete",
        "create ∥ get_children",
      ]);
      expect(result.memory[kind]?.count).toBe(50);
      // Reported, not judged: with 50 locks the per-lock heap figure is GC noise and may be negative.
      expect(Number.isFinite(result.memory[kind]?.heapPerLock)).toBe(true);
    }
    expect(run?.uncontended.curator?.cpuUsPerCycle).toBeUndefined(); // another process: not measured
    expect(run?.integration?.nest.perSecond).toBeGreaterThan(0);
    expect(run?.integration?.expressMiddleware.perSecond).toBeGreaterThan(0);
    expect(run?.integration?.httpLocked.perSecond).toBeGreaterThan(0);
    expect(run?.observability?.subscribed.perSecond).toBeGreaterThan(0);
    expect(run?.observability?.openTelemetry.perSecond).toBeGreaterThan(0);
    expect(markdown).toContain("Observability, U cycle");
    expect(markdown).toContain("Memory on the client:");
    expect(markdown).toContain("Memory on the binding:");

    const u = report.rows.find((row) => row.scenario.startsWith("U") && row.metric === "cycles/s");
    expect(u?.ratios["client ÷ floor"]?.median).toBeGreaterThan(0);
    expect(u?.ratios["binding ÷ floor"]?.median).toBeGreaterThan(0);
    const cpu = report.rows.find((row) => row.scenario.startsWith("U") && row.metric === "CPU µs/cycle");
    expect(cpu?.ratios["client ÷ binding"]?.median).toBeGreaterThan(0);
    const overlaps = report.rows.find((row) => row.metric === "overlaps");
    expect(overlaps?.values["core-client"]?.max).toBe(0);
    expect(overlaps?.values["core-binding"]?.max).toBe(0);
    if (curator) {
      expect(run?.contended[2]?.curator?.overlaps).toBe(0);
      expect(run?.contended[2]?.curator?.p50HandoffMs).toBeGreaterThan(0);
      expect(u?.ratios["client ÷ Curator"]?.median).toBeGreaterThan(0);
      expect(u?.ratios["binding ÷ Curator"]?.median).toBeGreaterThan(0);
      expect(
        report.rows.find((row) => row.scenario.startsWith("M"))?.ratios["client ÷ Curator"],
      ).toBeDefined();
    } else {
      expect(u?.ratios["client ÷ Curator"]).toBeUndefined();
    }
    // A column per implementation and per ratio: U and M in a table with the floors, the contended
    // scenarios in one without them.
    const headers = markdown
      .split("\n")
      .filter((line) => line.startsWith("| Scenario | Metric | zk-dist-lock, client"));
    expect(headers).toHaveLength(2);
    expect(headers[0]).toContain("| zk-dist-lock, binding | floor, client | floor, binding |");
    expect(headers[0]).toContain("| client ÷ floor | binding ÷ floor |");
    expect(headers[1]).not.toContain("floor");
    expect(headers[1]).toContain("| client ÷ binding |");
    expect(markdown).toContain("| U uncontended | cycles/s |");
    const names = report.targets.map((t) => t.name);
    expect(names).toContain("U CPU per cycle, client ÷ binding on loopback");
    expect(names).toContain("U cycles/s, client ÷ floor on loopback");
    expect(names).toContain("U cycles/s, binding ÷ floor on loopback");
    expect(report.targets.find((t) => t.name.startsWith("C overlaps"))?.met).toBe(true);

    // The fair mode: a process per session, for zk-dist-lock on each client.
    const inProcesses = run?.contendedProcesses[2];
    for (const figures of [inProcesses?.["core-client"], inProcesses?.["core-binding"]]) {
      expect(figures?.minPerSession).toBeGreaterThan(0);
      expect(figures?.overlaps).toBe(0);
      expect(figures?.tokenViolations).toBe(0);
    }
    expect(markdown).toContain("| C contended, K=2, K processes | handoffs/s |");

    // Where the time goes, in every contended table: CPU per hold of each implementation's own
    // processes and of ZooKeeper, and the machine's busy cores. Reported, not judged: only that each
    // figure is there and is a number (a tick-counted CPU time over 300 ms may well be 0). Curator's
    // own CPU, ZooKeeper's and the busy cores come from /proc: without it (not Linux) the report
    // says once that they were not measured.
    const proc = procMissing === undefined;
    const server = proc && serverPid !== undefined;
    expect(result.cpuSkipped === undefined).toBe(proc);
    if (!proc) expect(markdown.split(`${result.cpuSkipped}.`)).toHaveLength(2);
    const all = [...coreNames, ...(curator ? (["curator"] as const) : [])];
    const tables = [
      ["C contended, K=2, one event loop", "handoff"],
      ["C contended, K=2, K processes", "handoff"],
      ["R read-mostly, K=3 (1 in 10 exclusive), one event loop", "op"],
      ["S semaphore, K=3, P=2, K processes", "op"],
    ];
    for (const [scenario, per] of tables) {
      const find = (metric: string) =>
        report.rows.find((r) => r.scenario === scenario && r.metric === metric);
      const [own, zooKeeper, busy] = [`CPU µs/${per}`, `ZooKeeper CPU µs/${per}`, busyCoresMetric].map(find);
      const measured = proc
        ? [
            { figure: own, impls: all },
            ...(server ? [{ figure: zooKeeper, impls: all }] : []),
            { figure: busy, impls: all },
          ]
        : [{ figure: own, impls: coreNames }];
      for (const { figure, impls } of measured) {
        for (const impl of impls)
          expect(
            Number.isFinite(figure?.values[impl]?.median),
            `${scenario}: ${figure?.metric}, ${impl}`,
          ).toBe(true);
        expect(markdown).toContain(`| ${scenario} | ${figure?.metric} | `);
      }
      for (const figure of server ? [own, zooKeeper] : [own]) {
        expect(figure?.ratios["client ÷ binding"]).toBeDefined();
        if (curator && proc) expect(figure?.ratios["client ÷ Curator"]).toBeDefined();
      }
      if (!proc) expect(own?.values.curator).toBeUndefined();
      if (!server) expect(zooKeeper).toBeUndefined();
      // The machine's, not an implementation's: no ratio.
      if (proc) expect(busy?.ratios).toEqual({});
      else expect(busy).toBeUndefined();
    }
    expect(busyCoresMetric).toMatch(/^machine busy cores \(of \d+\)$/);
    expect(markdown).toContain("Targets over a network: not measured");
    expect(report.targets.find((t) => t.name.startsWith("token order violations"))?.met).toBe(true);

    // Read-mostly and semaphore, in both modes: they ran, reported, and the witnesses saw no breach.
    const rw = run?.sharing["read-mostly"];
    const semaphore = run?.sharing.semaphore;
    const both = (of: SharingRun | undefined) =>
      coreNames.flatMap((impl) => [of?.oneLoop[impl], of?.processes[impl]]);
    const rwFigures = [...both(rw), ...(curator ? [rw?.oneLoop.curator] : [])];
    const semaphoreFigures = [...both(semaphore), ...(curator ? [semaphore?.oneLoop.curator] : [])];
    for (const figures of [...rwFigures, ...semaphoreFigures])
      expect(figures?.opsPerSecond).toBeGreaterThan(0);
    for (const figures of rwFigures) expect(figures?.overlaps).toBe(0);
    for (const impl of coreNames) expect(rw?.processes[impl]?.tokenViolations).toBe(0);
    for (const figures of semaphoreFigures) expect(figures?.maxHolders).toBeLessThanOrEqual(2);
    expect(markdown).toContain("| R read-mostly, K=3 (1 in 10 exclusive), one event loop | ops/s |");
    expect(markdown).toContain(
      "| R read-mostly, K=3 (1 in 10 exclusive), K processes | most readers at once |",
    );
    expect(markdown).toContain("| S semaphore, K=3, P=2, one event loop | p99 wait ms |");
    expect(markdown).toContain("| S semaphore, K=3, P=2, K processes | most holders at once |");
    expect(report.targets.find((t) => t.name.startsWith("R overlaps"))?.met).toBe(true);
    expect(report.targets.find((t) => t.name.startsWith("S most holders at once"))).toMatchObject({
      goal: "≤ 2",
      met: true,
    });
  }, 120_000);

  it("runs U, M and C through the latency proxy with --rtt", async () => {
    const result = await runBench({
      connect,
      runs: 1,
      cycles: 10,
      blocks: 1,
      sessions: [2],
      durationMs: 200,
      resources: 5,
      rawSamples: 3,
      memoryLocks: 0,
      integrationCycles: 0,
      curator: true,
      rttMs: 1,
      processes: false,
      warmUpHolds: 0,
      sharingSessions: 2,
      permits: 1,
      scenarios: ["u", "m", "c"],
    });
    const report = buildReport(result);
    const markdown = renderMarkdown([{ result, report }], { run: "smoke" });
    const [run] = result.runs;
    for (const kind of clientKinds) {
      expect(run?.uncontended[`core-${kind}`]?.perSecond).toBeGreaterThan(0);
      expect(run?.uncontended[`floor-${kind}`]?.perSecond).toBeGreaterThan(0);
      expect(run?.many[`core-${kind}`]?.perSecond).toBeGreaterThan(0);
      expect(run?.contended[2]?.[`core-${kind}`]?.overlaps).toBe(0);
    }
    if (curatorUnavailable() === undefined) expect(run?.contended[2]?.curator?.overlaps).toBe(0);
    expect(markdown).toContain("### 1 ms round trip: every client through a latency proxy (0.5 ms each way)");
    expect(markdown).toContain("Targets on loopback: not measured");
    const names = report.targets.map((t) => t.name);
    for (const kind of clientKinds) {
      expect(names).toContain(`U cycles/s, ${kind} ÷ Curator at 1 ms RTT`);
      expect(names).toContain(`U cycles/s, ${kind} ÷ floor at 1 ms RTT`);
    }
    // Scenarios left out (--only) are neither run nor shown, and their targets are not measured.
    expect(run?.sharing).toEqual({});
    expect(markdown).not.toContain("| R read-mostly");
    expect(names.some((name) => name.startsWith("R overlaps"))).toBe(false);
  }, 120_000);
});

describe("the latency proxy", () => {
  it("stands between a client and the server, in a process of its own, until closed", async () => {
    const proxy = await startLatencyProxy(connect, 1);
    expect(proxy.connectString).not.toBe(connect);
    const client = await openRequests(proxy.connectString, "binding");
    try {
      await ensurePath(client, "/zk-bench-proxy-test");
      expect(await client.children("/zk-bench-proxy-test")).toEqual([]);
    } finally {
      await client.close();
      await proxy.close();
    }
  });
});

describe("holds recorded in several processes", () => {
  const session = (holds: number[], tokens: number[], modes = "x".repeat(tokens.length)) => ({
    holds,
    tokens: tokens.map(String),
    modes,
    cyclesMs: [],
  });

  it("finds overlaps, handoffs and tokens out of order", () => {
    // µs. Session 0 holds 10–20, asks again at 28 and holds 40–50. Session 1 asks at 5, is granted at
    // 25 (5 after the release at 20) and holds to 30; asks at 35 and is granted at 45, inside session
    // 0's hold, with the token that session 0 already had.
    const merged = fromHolds([
      session([0, 10, 20, 28, 40, 50], [1, 3]),
      session([5, 25, 30, 35, 45, 55], [2, 3]),
    ]);
    expect(merged.perSession).toEqual([2, 2]);
    expect(merged.overlaps).toBe(1);
    expect(merged.tokenViolations).toBe(1);
    // Handoffs: 25 − 20, and 40 − 30 (session 0 asked at 28, before the release at 30).
    expect(merged.handoffsMs).toEqual([0.005, 0.01]);
    expect(merged.waitsMs).toEqual([0.01, 0.02, 0.012, 0.01]);
  });

  it("finds nothing wrong in a correct sequence", () => {
    const merged = fromHolds([session([0, 1, 2, 3, 6, 7], [10, 30]), session([1, 3, 4, 5, 8, 9], [20, 40])]);
    expect(merged.overlaps).toBe(0);
    expect(merged.tokenViolations).toBe(0);
  });

  const readMostly = { kind: "read-mostly", seed: 1, writeShare: 0.1 } as const;

  it("finds a writer beside readers, the most readers at once, and read-write tokens out of order", () => {
    // µs. Two readers hold 10–30 and 15–25 together (token 5); a writer holds 40–50 (token 7), then
    // a reader is granted at 45, inside the writer's hold, with token 6, below the writer's 7; a
    // second writer at 60 gets token 7 again, not above every earlier hold's.
    const merged = fromSharingHolds(
      [
        session([0, 10, 30, 35, 45, 48], [5, 6], "ss"),
        session([5, 15, 25], [5], "s"),
        session([20, 40, 50, 55, 60, 70], [7, 7], "xx"),
      ],
      readMostly,
    );
    expect(merged.maxHolders).toBe(2);
    expect(merged.overlaps).toBe(1);
    expect(merged.tokenViolations).toBe(2);
    expect(merged.perSession).toEqual([2, 1, 2]);
    expect(merged.waitsMs).toEqual([0.01, 0.01, 0.01]);
    expect(merged.writeWaitsMs).toEqual([0.02, 0.005]);
  });

  it("finds nothing wrong in readers together and a writer after them, nor in a hold that ends as one begins", () => {
    const merged = fromSharingHolds(
      [session([0, 10, 30], [5], "s"), session([0, 12, 20], [5], "s"), session([1, 30, 40], [8], "x")],
      readMostly,
    );
    expect(merged).toMatchObject({ overlaps: 0, tokenViolations: 0, maxHolders: 2 });
  });

  it("finds a semaphore's permit beyond P, and no token order for permits", () => {
    const holds = [
      session([0, 1, 10], [3], "s"),
      session([0, 2, 10], [2], "s"),
      session([0, 3, 10], [1], "s"),
    ];
    expect(fromSharingHolds(holds, { kind: "semaphore", permits: 3, holdMs: 0 })).toMatchObject({
      overlaps: 0,
      maxHolders: 3,
    });
    const over = fromSharingHolds(holds, { kind: "semaphore", permits: 2, holdMs: 0 });
    expect(over).toMatchObject({ overlaps: 1, maxHolders: 3 });
    expect(over.tokenViolations).toBeUndefined();
  });

  it("the one-event-loop witness counts the same way", () => {
    const witness = new Witness(readMostly);
    witness.enter(false);
    witness.enter(false);
    witness.enter(true); // beside two readers
    witness.leave(true);
    witness.leave(false);
    witness.leave(false);
    witness.enter(true);
    witness.enter(false); // beside a writer
    expect(witness).toMatchObject({ overlaps: 2, maxHolders: 2 });
  });
});

describe("pnpm bench --capacity", () => {
  it("measures a 3-member ensemble step by step: cycles, CPU of every member and fsyncs", async () => {
    const result = await runCapacity({ sessions: [1, 2], durationMs: 300, processes: 2 });
    expect(result.steps.map((s) => [s.sessions, s.processes])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    for (const step of result.steps) {
      expect(step.cyclesPerSecond).toBeGreaterThan(0);
      expect(step.members).toHaveLength(3);
      expect(step.members.filter((m) => m.leader)).toHaveLength(1);
      // The members' CPU comes from /proc: without it (not Linux), not measured.
      if (procMissing) expect(step.serverUsPerCycle).toBeUndefined();
      else expect(Number.isFinite(step.serverUsPerCycle)).toBe(true);
      expect(step.clientUsPerCycle).toBeGreaterThan(0);
      // fsync is on: every member wrote its log.
      for (const member of step.members) expect(member.fsyncsPerSecond).toBeGreaterThan(0);
    }
    const markdown = renderCapacity(result, { run: "smoke" });
    expect(markdown).toContain("| Sessions | Processes | cycles/s |");
    expect(result.cpuSkipped === undefined).toBe(procMissing === undefined);
    if (result.cpuSkipped) expect(markdown).toContain(result.cpuSkipped);
  }, 180_000);
});

describe("results", () => {
  it("go to a folder git ignores unless --publish", () => {
    // git check-ignore exits 0 when the path is ignored, 1 when not.
    execFileSync("git", ["check-ignore", "-q", join(defaultOut, "latest.md")], { cwd: packageDir });
    expect(parseCli([]).publish).toBe(false);
    expect(parseCli(["--publish"]).publish).toBe(true);
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
    expect(parseCli([]).rtts).toEqual([0, 1]);
    expect(parseCli(["--rtt", "0.5"]).rtts).toEqual([0.5]);
    expect(parseCli([]).capacity).toBeUndefined();
    expect(parseCli(["--capacity", "--capacity-sessions", "1,8"]).capacity).toEqual({
      sessions: [1, 8],
      durationMs: 5000,
      processes: 4,
    });
    expect(parseCli(["--no-processes"]).bench.processes).toBe(false);
    expect(() => parseCli(["--rtt=-1"])).toThrow(/--rtt needs round trips in ms ≥ 0/);
    expect(() => parseCli(["--rtt", "1,1"])).toThrow(/twice/);
    expect(() => parseCli(["--rtt", "1,x"])).toThrow(/--rtt needs round trips/);
    expect(() => parseCli(["--publish", "--quick"])).toThrow(/drop --quick/);
    expect(parseCli([]).bench).toMatchObject({ sharingSessions: 8, permits: 3, scenarios: scenarioNames });
    expect(parseCli(["--only", "rw,semaphore", "--permits", "2"]).bench).toMatchObject({
      scenarios: ["rw", "semaphore"],
      permits: 2,
    });
    expect(() => parseCli(["--only", "rw,bogus"])).toThrow(/--only takes u,m,c,rw,semaphore/);
    expect(() => parseCli(["--permits", "0"])).toThrow(/--permits needs an integer ≥ 1/);
  });
});
