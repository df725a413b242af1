// pnpm chaos: a bounded soak that proves fencing. Worker processes, each with its own ZooKeeper
// session and its own proxy to a 3-member ensemble, take locks and do read-modify-write cycles on
// a fenced store, while a seeded schedule kills leaders and followers, partitions and cuts workers,
// pauses writers past their session timeout and SIGKILLs holders. What must never happen is checked
// as it comes in and once more at the end; the figures say how it went.
import { randomInt } from "node:crypto";
import { now } from "./clock.js";
import { runSchedule } from "./faults.js";
import { findOverlaps, overdueAcquires, stallsAfterFaults } from "./history.js";
import { parseChaosOptions, UsageError, usage } from "./options.js";
import { Random } from "./random.js";
import { formatOutcome } from "./report.js";
import { Soak, type SoakSettings } from "./soak.js";

async function main(args: string[]): Promise<number> {
  const options = parseChaosOptions(args, () => randomInt(2 ** 31 - 1));
  if (options === undefined) {
    console.log(usage);
    return 0;
  }
  const settings: SoakSettings = {
    ...options,
    resources: ["ledger", "inventory"],
    sessionTimeoutMs: 4000,
    acquireTimeoutMs: 8000,
    marginMs: 2000,
    stallMs: 1000,
    tickTime: 200,
    rootDir: `/chaos-${options.seed}`,
  };
  const replay = `pnpm chaos --seed ${settings.seed} --seconds ${settings.seconds} --workers ${settings.workers}`;
  console.log(`pnpm chaos, seed ${settings.seed} (replay: ${replay})`);
  console.log(
    `ensemble of 3 (tickTime ${settings.tickTime} ms), ${settings.workers} workers on ${settings.resources.length} resources, session timeout ${settings.sessionTimeoutMs} ms, acquire timeout ${settings.acquireTimeoutMs} ms, ${settings.seconds} s of faults`,
  );
  const soak = await Soak.start(settings, (line) => console.log(line));
  try {
    soak.note("workers connected; faults start");
    await runSchedule(soak, new Random(settings.seed), soak.startedAt + settings.seconds * 1000);

    soak.note("faults over; healing, then closing the workers");
    for (const slot of soak.slots) slot.proxy.heal();
    for (const member of soak.ensemble.members) if (!member.running) await soak.ensemble.restart(member);
    await soak.stopWorkers(settings.acquireTimeoutMs + 15_000);
    const endAt = now();
    const lockNodes = await soak.lockNodesLeft(2 * settings.sessionTimeoutMs + 10_000);

    const overlaps = findOverlaps(soak.holds);
    for (const { resource, at, newer, older } of overlaps.violations) {
      soak.violate(
        `${newer.worker} held ${resource} with token ${newer.token} while ${older.worker}'s hold (token ${older.token}) was still valid`,
        at,
      );
    }
    const limit = settings.acquireTimeoutMs + settings.marginMs;
    const overdue = overdueAcquires(soak.acquires, soak.freezes, limit);
    for (const acquire of overdue) {
      soak.violate(
        `${acquire.worker}'s acquire of ${acquire.resource} took ${Math.round(acquire.settledAt - acquire.startedAt)} ms (${acquire.outcome})`,
        acquire.settledAt,
      );
    }
    if (lockNodes.left.length > 0) soak.violate(`lock nodes left: ${lockNodes.left.join(", ")}`);
    const unfrozen = overdueAcquires(soak.acquires, soak.freezes, 0);
    const rows = soak.store.rows;
    console.log("");
    for (const line of formatOutcome({
      faults: stallsAfterFaults(
        soak.faults,
        [...rows.values()].map((row) => row.writeTimes),
        endAt,
      ),
      rows,
      acquisitions: soak.holds.length,
      counts: soak.counts,
      tokensRepeated: soak.store.violations.filter((v) => v.message.includes("a second time")).length,
      overlaps,
      acquireLimitMs: limit,
      longestAcquireMs: Math.max(0, ...unfrozen.map((a) => a.settledAt - a.startedAt)),
      overdueAcquires: overdue.length,
      lockNodes,
      violations: soak.violations.length,
    })) {
      console.log(line);
    }
    const passed = soak.violations.length === 0;
    console.log(passed ? `PASS (seed ${settings.seed})` : `FAIL (seed ${settings.seed}; replay: ${replay})`);
    return passed ? 0 : 1;
  } finally {
    await soak.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`pnpm chaos: ${error.message}\n\n${usage}`);
      process.exit(2);
    }
    console.error("pnpm chaos could not run:", error);
    process.exit(3);
  },
);
