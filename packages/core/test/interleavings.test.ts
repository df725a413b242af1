// A seeded property test: a few hundred random interleavings of acquire() calls (with a timeout, a
// signal that aborts, both, neither, or trying once), holds and releases on a few handles of a few
// sessions, each interleaving on a resource of its own. Whatever the interleaving:
// - no call outlives its timeout, or its signal's abort, by more than a generous round trip;
// - a call fails only by its own terms (TIMEOUT with a timeout, ABORTED with an aborted signal);
// - a handle's hold count is the number of its calls that resolved and were not released;
// - holders never overlap, and the tokens of successive holders only grow;
// - once every call has settled and every hold is released, no lock node is left (once the
//   deletions of the calls that gave up, sent as they settled, have gone through).
// ZK_PROPERTY_SEED=<n> replays a run; a failure names the seed of each interleaving that broke.
import { seededRandom, waitFor } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { isLockError, type LockEvent, type ZkLock, type ZkLockManager } from "../src/index.js";
import { openManager, uniqueRoot } from "./support/client.js";
import { childrenOf } from "./support/zk.js";

const connect = inject("zkConnect");
const INTERLEAVINGS = 240;
const IN_FLIGHT = 20;
const CALLS_PER_INTERLEAVING = 6;
// A correctness bound, not a speed assertion: a call that inherited another call's fate would
// outlive its own terms by a long hold (LONG_HOLD_MS), far beyond it.
const ROUND_TRIP_BOUND_MS = 1000;
const LONG_HOLD_MS = 2000;
const baseSeed = Number(process.env.ZK_PROPERTY_SEED ?? 20_251_011);

let sessions: Awaited<ReturnType<typeof openManager>>[] = [];
/** What each interleaving's resource saw, by root directory: `acquired` and `released`, in order. */
const seen = new Map<string, { event: "acquired" | "released"; token: bigint }[]>();

beforeAll(async () => {
  sessions = await Promise.all([openManager(connect), openManager(connect), openManager(connect)]);
  for (const { manager } of sessions) record(manager);
});
afterAll(async () => {
  await Promise.all(sessions.map((session) => session.close()));
});

function record(manager: ZkLockManager): void {
  for (const event of ["acquired", "released"] as const) {
    manager.on(event, ({ path, token }: LockEvent) => {
      const rootDir = `/${path.split("/")[1]}`;
      seen.set(rootDir, [...(seen.get(rootDir) ?? []), { event, token }]);
    });
  }
}

interface PlannedCall {
  handle: number;
  startAfter: number;
  timeout: number | undefined;
  /** Milliseconds after the call to abort its signal; -1 for a signal aborted before the call. */
  abortAfter: number | undefined;
  holdFor: number;
}

function plan(random: () => number, handles: number): PlannedCall[] {
  const between = (low: number, high: number) => Math.floor(low + random() * (high - low));
  return Array.from({ length: CALLS_PER_INTERLEAVING }, () => {
    const t = random();
    const s = random();
    return {
      handle: between(0, handles),
      startAfter: between(0, 40),
      timeout: t < 0.3 ? undefined : t < 0.45 ? 0 : t < 0.85 ? between(5, 150) : between(1000, 2000),
      abortAfter: s < 0.05 ? -1 : s < 0.3 ? between(0, 120) : undefined,
      holdFor: random() < 0.05 ? LONG_HOLD_MS : between(0, 40),
    };
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one interleaving; returns what broke, if anything. */
async function interleave(seed: number): Promise<string[]> {
  const random = seededRandom(seed);
  const rootDir = uniqueRoot("interleaving");
  const broke: string[] = [];
  // Two handles on the first session (one session, two owners), one on each of the others.
  const [first, second, third] = sessions.map(({ manager }) => manager) as [
    ZkLockManager,
    ZkLockManager,
    ZkLockManager,
  ];
  const handles = [first, first, second, third].map((manager) => manager.createLock("r", { rootDir }));
  const outstanding = new Map<ZkLock, number>(handles.map((lock) => [lock, 0]));

  const call = async ({ handle, startAfter, timeout, abortAfter, holdFor }: PlannedCall, n: number) => {
    await sleep(startAfter);
    const lock = handles[handle]!;
    const what = `call ${n} (handle ${handle}, timeout ${timeout}, abort after ${abortAfter})`;
    const controller = abortAfter === undefined ? undefined : new AbortController();
    let abortedAt: number | undefined;
    const abort = () => {
      abortedAt = performance.now();
      controller?.abort();
    };
    if (abortAfter === -1) abort();
    const abortTimer =
      abortAfter !== undefined && abortAfter >= 0 ? setTimeout(abort, abortAfter) : undefined;
    const start = performance.now();
    const outlived = (end: number) => {
      const limits = [
        timeout === undefined ? Number.POSITIVE_INFINITY : start + timeout,
        abortedAt ?? Number.POSITIVE_INFINITY,
      ];
      const over = end - Math.min(...limits);
      return over > ROUND_TRIP_BOUND_MS ? ` outlived its terms by ${Math.round(over)} ms` : "";
    };
    let token: bigint;
    try {
      token = await lock.acquire({ timeout, signal: controller?.signal });
    } catch (error) {
      const end = performance.now();
      clearTimeout(abortTimer);
      const fair =
        (isLockError(error, "TIMEOUT") && timeout !== undefined) ||
        (isLockError(error, "ABORTED") && abortedAt !== undefined);
      if (!fair) broke.push(`${what} failed with ${String(error)}`);
      const late = outlived(end);
      if (late) broke.push(`${what} failed and${late}`);
      return;
    }
    clearTimeout(abortTimer);
    const late = outlived(performance.now());
    if (late) broke.push(`${what} got the lock but${late}`);
    if (token !== lock.token) broke.push(`${what} got token ${token}, its hold has ${lock.token}`);
    outstanding.set(lock, outstanding.get(lock)! + 1);
    await sleep(holdFor);
    // Every call of this hold has resumed by now (a timer runs after their continuations).
    if (lock.holdCount !== outstanding.get(lock))
      broke.push(`${what}: hold count ${lock.holdCount}, calls holding ${outstanding.get(lock)}`);
    outstanding.set(lock, outstanding.get(lock)! - 1);
    await lock.release();
  };

  await Promise.all(plan(random, handles.length).map(call));

  // A call that gave up settled at once; its node's deletion may still be on its way.
  let left: string[] = [];
  await waitFor(
    async () => {
      left = await childrenOf(sessions[0]!.client, `${rootDir}/r`);
      return left.length === 0;
    },
    { timeoutMs: 5000, intervalMs: 20 },
  ).catch(() => broke.push(`nodes left once every call settled: ${left.join(", ")}`));
  let holders = 0;
  let last = -1n;
  for (const { event, token } of seen.get(rootDir) ?? []) {
    if (event === "released") {
      holders--;
      continue;
    }
    if (holders++ !== 0) broke.push(`token ${token} granted while another handle held`);
    if (token <= last) broke.push(`token ${token} granted after ${last}`);
    last = token;
  }
  seen.delete(rootDir);
  return broke.map((problem) => `seed ${seed}: ${problem}`);
}

describe("random interleavings of acquire, abort, timeout and release", () => {
  it(`keep every call to its terms, the holds exclusive, the tokens growing and the queue clean (seed ${baseSeed})`, async () => {
    const broke: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < INTERLEAVINGS) broke.push(...(await interleave(baseSeed + next++)));
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    expect(broke).toEqual([]);
  }, 120_000);
});
