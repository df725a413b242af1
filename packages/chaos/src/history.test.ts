import { describe, expect, it } from "vitest";
import { findOverlaps, type Hold, overdueAcquires, stallsAfterFaults, stateAt } from "./history.js";

const hold = (worker: string, token: bigint, acquiredAt: number, events: Hold["events"] = []): Hold => ({
  worker,
  resource: "r",
  token,
  acquiredAt,
  events,
});

describe("stateAt", () => {
  it("follows a hold through doubt, reconnect, freeze and loss", () => {
    const h = hold("w1", 1n, 10, [
      { kind: "suspended", at: 20 },
      { kind: "reconnected", at: 30 },
      { kind: "frozen", at: 40 },
      { kind: "reconnected", at: 45 },
      { kind: "lost", at: 50 },
      { kind: "released", at: 60 },
    ]);
    expect([5, 15, 25, 35, 42, 47, 55, 65].map((at) => stateAt(h, at))).toEqual([
      "closed",
      "valid",
      "suspended",
      "valid",
      "frozen",
      "frozen", // a reconnect after a freeze does not make the lock's promise good again
      "lost",
      "closed",
    ]);
  });
});

describe("findOverlaps", () => {
  it("finds a holder that got the lock while another's hold was still valid", () => {
    const { violations } = findOverlaps([
      hold("w1", 1n, 0, [{ kind: "released", at: 100 }]),
      hold("w2", 2n, 50, [{ kind: "released", at: 150 }]),
    ]);
    expect(violations.map((v) => [v.older.worker, v.newer.worker, v.at])).toEqual([["w1", "w2", 50]]);
  });

  it("finds a reconnect into validity while another held the lock", () => {
    const { violations } = findOverlaps([
      hold("w1", 1n, 0, [
        { kind: "suspended", at: 10 },
        { kind: "reconnected", at: 70 },
        { kind: "released", at: 100 },
      ]),
      hold("w2", 2n, 50, [{ kind: "released", at: 80 }]),
    ]);
    expect(violations.map((v) => [v.older.worker, v.newer.worker, v.at])).toEqual([["w2", "w1", 70]]);
  });

  it("sorts the overlaps the lock cannot prevent by what the older holder knew", () => {
    const summary = findOverlaps([
      hold("w1", 1n, 0, [
        { kind: "frozen", at: 10 },
        { kind: "released", at: 200 },
      ]),
      hold("w2", 2n, 20, [
        { kind: "suspended", at: 30 },
        { kind: "lost", at: 60 },
        { kind: "released", at: 210 },
      ]),
      hold("w3", 3n, 40, [{ kind: "released", at: 50 }]),
      hold("w4", 4n, 70, [{ kind: "killed", at: 90 }]),
    ]);
    // w1 was frozen when w2, w3 and w4 came, w2 in doubt when w3 came and lost when w4 did.
    expect(summary).toMatchObject({ violations: [], frozen: 1, toldSuspended: 1, toldLost: 1 });
  });
});

it("overdueAcquires leaves out acquires during which their worker was frozen", () => {
  const acquires = [
    { worker: "w1", resource: "r", startedAt: 0, settledAt: 12_000, outcome: "TIMEOUT" },
    { worker: "w2", resource: "r", startedAt: 0, settledAt: 12_000, outcome: "acquired" },
    { worker: "w3", resource: "r", startedAt: 0, settledAt: 9000, outcome: "TIMEOUT" },
  ];
  const late = overdueAcquires(acquires, [{ worker: "w2", from: 3000, to: 8000 }], 10_000);
  expect(late.map((a) => a.worker)).toEqual(["w1"]);
});

it("stallsAfterFaults measures the longest gap between fenced writes until the next fault", () => {
  const faults = [
    { kind: "kill leader", target: "member 1", at: 100 },
    { kind: "cut", target: "w1", at: 1000 },
  ];
  const stalls = stallsAfterFaults(
    faults,
    [
      [50, 150, 900, 1100, 1150],
      [120, 300, 600, 980],
    ],
    1200,
  );
  // After the first fault, resource one waited from 150 to 900; after the second, resource two
  // wrote nothing until the end.
  expect(stalls.map((s) => s.stallMs)).toEqual([750, 200]);
});
