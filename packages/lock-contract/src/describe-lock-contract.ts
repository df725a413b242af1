import { randomUUID } from "node:crypto";
import { seededRandom, waitFor } from "@zk-dist-lock/testing";
import type {} from "@zk-dist-lock/testing/vitest";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  type ContractHold,
  type ContractManager,
  type ContractOptions,
  type LockAdapter,
  type MakeAdapter,
} from "./lock-adapter.js";
import { holdWithManager } from "./manager-hold.js";
import { type Pass, passes } from "./passes.js";
import { openSession, type Session } from "./sessions.js";
import { barrier, Witness } from "./witness.js";

// Generous: the shared machine may be busy, and a broken lock should fail an assertion (or a
// barrier's deadline), not the test timeout.
const CASE_TIMEOUT_MS = 60_000;

/** The seed of the random timings of the leaving-caller rounds. */
const SEED = Number(process.env.LOCK_CONTRACT_SEED ?? 20_240_512);
const LEAVING_ROUNDS = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a run whose caller leaves mid-run and the next run on its key must do, in this order. */
const LEAVING_ORDER = ["first entered", "first's caller left", "first's work ended", "second entered"];

/** Two adapters of the integration, each on a manager with its own ZooKeeper session. */
interface Contenders<M extends ContractManager> {
  rootDir: string;
  sides: [Side<M>, Side<M>];
}

interface Side<M extends ContractManager> {
  adapter: LockAdapter;
  manager: M;
}

/** A promise that a case opens when it chooses. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/**
 * Declares the lock contract that every way of taking a lock must keep, as a vitest suite against
 * the run's shared ZooKeeper (`inject("zkConnect")`). It opens two managers on two sessions, so
 * that exclusion is checked between sessions as between processes, and gives each case a fresh
 * `rootDir`. The cases run in three passes: exclusive locks, shared locks (readers, with writers
 * among them) and a semaphore of `CONTRACT_PERMITS` permits; each case says what it checks in the
 * terms of its pass:
 *
 * 1. runs on one key enter in queue order and only with whom their hold allows (nobody, other
 *    readers, fewer than `permits` others), and all complete;
 * 2. runs that may overlap do: on different keys, and readers or permits of one key;
 * 3. fencing tokens grow as the core README says for the hold, across sessions;
 * 4. a work that throws makes the run reject and frees the key;
 * 5. inside the work, the manager's call for the same hold on the same key joins it (same token),
 *    and the other kind of call joins or is refused with `CONFLICT` as core says;
 * 6. where the caller can go away mid-run (the adapter has `runLeaving`), the hold stands until the
 *    work has ended, and the next run that it blocks enters only then;
 * 7. the same, 20 rounds in a row with seeded random timings (`LOCK_CONTRACT_SEED` replays a seed).
 *
 * @example
 * ```ts
 * import { ZkLockManager } from "@zk-dist-lock/core";
 * import { describeLockContract, holdWithManager } from "@zk-dist-lock/lock-contract";
 *
 * describeLockContract(
 *   "core withLock() and withSemaphore()",
 *   async (manager, rootDir) => ({
 *     run: (key, hold, work) => holdWithManager(manager, key, hold, { rootDir }, ({ token }) => work(token)),
 *     close: async () => {},
 *   }),
 *   { createManager: () => new ZkLockManager() },
 * );
 * ```
 */
export function describeLockContract<M extends ContractManager>(
  name: string,
  makeAdapter: MakeAdapter<M>,
  options: ContractOptions<M>,
): void {
  describe(`lock contract: ${name}`, () => {
    const connect = inject("zkConnect");
    let sessions: Session<M>[] = [];

    beforeAll(async () => {
      const opened = await Promise.allSettled([
        openSession(connect, options.createManager(), options.connectClient),
        openSession(connect, options.createManager(), options.connectClient),
      ]);
      sessions = opened.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
      const failed = opened.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    });

    afterAll(async () => {
      await Promise.all(sessions.map((session) => session.close()));
    });

    /** Runs `body` with two fresh adapters under a root directory no other case uses. */
    async function contend(body: (contenders: Contenders<M>) => Promise<void>): Promise<void> {
      const rootDir = `/lock-contract-${randomUUID().slice(0, 8)}`;
      const opened = await Promise.allSettled(
        sessions.map(async ({ manager }) => ({ adapter: await makeAdapter(manager, rootDir), manager })),
      );
      const sides = opened.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
      try {
        const failed = opened.find((result) => result.status === "rejected");
        if (failed) throw failed.reason;
        await body({ rootDir, sides: sides as [Side<M>, Side<M>] });
      } finally {
        await Promise.all(sides.map(({ adapter }) => adapter.close()));
      }
    }

    /** Resolves once `key` has `count` nodes in ZooKeeper, holders and waiters together. */
    async function untilQueued(manager: M, key: string, rootDir: string, count: number): Promise<void> {
      await waitFor(
        async () => {
          const { holders, waiters } = await manager.inspect(key, { rootDir });
          return holders.length + waiters.length === count;
        },
        { timeoutMs: 10_000, intervalMs: 10, message: `${count} runs queued for "${key}"` },
      );
    }

    /** Resolves once `count` contenders wait for `key` in ZooKeeper behind its holders. */
    async function untilWaiting(manager: M, key: string, rootDir: string, count: number): Promise<void> {
      await waitFor(async () => (await manager.inspect(key, { rootDir })).waiters.length === count, {
        timeoutMs: 10_000,
        intervalMs: 10,
        message: `${count} runs waiting for "${key}"`,
      });
    }

    /** Resolves once nobody holds or waits for `key` in ZooKeeper. */
    async function untilFree(manager: M, key: string, rootDir: string): Promise<void> {
      await waitFor(
        async () => {
          const { holder, waiters } = await manager.inspect(key, { rootDir });
          return holder === undefined && waiters.length === 0;
        },
        { timeoutMs: 10_000, message: `"${key}" to be free` },
      );
    }

    /** `runLeaving` of the adapter, or a skip of the case when its caller cannot go away. */
    function leavingRun(adapter: LockAdapter, skip: (note: string) => never) {
      const { runLeaving } = adapter;
      if (runLeaving === undefined) return skip("this integration has no caller that can go away");
      return runLeaving.bind(adapter);
    }

    /**
     * Takes the manager's own hold of `key` inside a run, as code under the integration's hold
     * does: a join, or a refusal. `timeout: 0`, so that waiting for itself fails at once instead of
     * deadlocking. Resolves to the token as a string, or to the code of a `CONFLICT` refusal.
     */
    async function holdInside(manager: M, key: string, hold: ContractHold, rootDir: string) {
      try {
        return await holdWithManager(manager, key, hold, { rootDir, timeout: 0 }, ({ token }) =>
          token.toString(),
        );
      } catch (error) {
        if ((error as { code?: unknown }).code === "CONFLICT") return "CONFLICT";
        throw error;
      }
    }

    /**
     * The runs a leaving run shares its key with, so that the next run is blocked by the leaving
     * one alone: for a semaphore, `permits - 1` holders that stay until `until` (the next run's
     * entry). Resolves once they are inside; `done` settles when they have ended.
     */
    async function fill(pass: Pass, side: Side<M>, key: string, witness: Witness, until: Promise<void>) {
      const runs = Array.from({ length: pass.companions }, () => {
        const place = witness.place(pass.hold);
        return side.adapter.run(key, pass.hold, () => place.section(() => until));
      });
      await waitFor(() => witness.inside === pass.companions, {
        timeoutMs: 10_000,
        intervalMs: 10,
        message: `${pass.companions} companions inside "${key}"`,
      });
      const done = Promise.all(runs);
      done.catch(() => {}); // awaited by the case; a failure before must not count as unhandled
      return { done };
    }

    /**
     * The run that comes after the one whose caller leaves, of the hold it must wait for: it notes
     * its entry in `log` and opens `entered`, inside `witness`. The case awaits it at the end; when
     * an assertion fails before, closing the adapters ends it, and its rejection must not count as
     * unhandled.
     */
    function nextRun(
      pass: Pass,
      side: Side<M>,
      key: string,
      witness: Witness,
      log: string[],
      entered: () => void,
    ): Promise<void> {
      const place = witness.place(pass.next);
      const run = side.adapter.run(key, pass.next, () =>
        place.section(async () => {
          log.push("second entered");
          entered();
        }),
      );
      run.catch(() => {});
      return run;
    }

    for (const pass of passes) {
      describe(pass.name, () => {
        it(
          pass.titles.queue,
          () =>
            contend(async ({ rootDir, sides: [a, b] }) => {
              const key = "contract:queue";
              const witness = new Witness();
              const go = gate();
              // Each run queues before the next starts, so the queue's order is the witness's.
              const runs: Promise<number>[] = [];
              for (const [i, hold] of pass.queue.entries()) {
                const place = witness.place(hold);
                const run = (i % 2 === 0 ? a : b).adapter.run(key, hold, () =>
                  place.section(async () => {
                    await go.opened;
                    return i;
                  }),
                );
                run.catch(() => {}); // awaited below; a failure before must not count as unhandled
                runs.push(run);
                await untilQueued(a.manager, key, rootDir, i + 1);
              }
              // Every holder is inside its work: a broken lock has let more in by now, which the
              // witness records.
              await waitFor(
                async () => witness.inside === (await a.manager.inspect(key, { rootDir })).holders.length,
                { timeoutMs: 10_000, intervalMs: 10, message: `the holders of "${key}" inside their works` },
              );
              const together = witness.inside;
              go.open();
              expect(await Promise.all(runs)).toEqual(pass.queue.map((_, i) => i));
              expect(witness.violations, "runs inside with runs ahead of them they exclude").toEqual([]);
              expect(together, "runs inside together at first").toBe(pass.together);
            }),
          CASE_TIMEOUT_MS,
        );

        it(
          pass.titles.overlap,
          () =>
            contend(async ({ sides: [a, b] }) => {
              // Each work waits inside until all three are inside: runs that were serialised would
              // miss the meeting and reject at its deadline.
              const meet = barrier(pass.overlapping.length, 8_000);
              const results = await Promise.all(
                pass.overlapping.map((key, i) =>
                  (i % 2 === 0 ? a : b).adapter.run(key, pass.hold, async () => {
                    await meet.arrive();
                    return i;
                  }),
                ),
              );
              expect(results).toEqual(pass.overlapping.map((_, i) => i));
            }),
          CASE_TIMEOUT_MS,
        );

        it(
          pass.titles.tokens,
          () =>
            contend(async ({ sides: [a, b] }) => {
              const key = "contract:tokens";
              const tokens: bigint[] = [];
              for (const [i, hold] of pass.successive.entries()) {
                const answered = await (i % 2 === 0 ? a : b).adapter.run(key, hold, async (token) => {
                  expect(typeof token).toBe("bigint");
                  tokens.push(token);
                  return token.toString();
                });
                expect(answered).toBe(tokens.at(-1)?.toString());
              }
              for (let j = 1; j < tokens.length; j++) {
                for (let i = 0; i < j; i++) {
                  if (!pass.ordered(pass.successive[i]!, pass.successive[j]!)) continue;
                  const [before, after] = [pass.successive[i], pass.successive[j]];
                  expect(
                    tokens[j]! > tokens[i]!,
                    `token ${tokens[j]} of run ${j} (${after}) after ${tokens[i]} of run ${i} (${before})`,
                  ).toBe(true);
                }
              }
            }),
          CASE_TIMEOUT_MS,
        );

        it(
          pass.titles.failing,
          () =>
            contend(async ({ rootDir, sides: [a, b] }) => {
              const key = "contract:failing";
              const failure = "contract: the work failed on purpose";
              await expect(
                a.adapter.run(key, pass.hold, async () => {
                  throw new Error(failure);
                }),
              ).rejects.toThrow(failure);
              // Free without waiting for a session to end: the failed run's session lives on, so a
              // leaked hold would never go away. (An HTTP integration releases when the response
              // finishes, which its client may see a moment before the node is deleted.)
              await untilFree(b.manager, key, rootDir);
              expect(await a.adapter.run(key, pass.hold, async () => "again")).toBe("again");
              expect(await b.adapter.run(key, pass.hold, async () => "elsewhere")).toBe("elsewhere");
            }),
          CASE_TIMEOUT_MS,
        );

        it(
          pass.titles.reentrant,
          () =>
            contend(async ({ rootDir, sides }) => {
              const key = "contract:reentrant";
              for (const { adapter, manager } of sides) {
                const seen = await adapter.run(key, pass.hold, async (token) => {
                  const same = await holdInside(manager, key, pass.hold, rootDir);
                  const other = await holdInside(manager, key, pass.other, rootDir);
                  // Leaving the inner calls must not end the outer hold.
                  const { holders } = await manager.inspect(key, { rootDir });
                  return { outer: token.toString(), same, other, holdersAfter: holders.length };
                });
                expect(seen.same, `a ${pass.hold} call inside joins`).toBe(seen.outer);
                expect(seen.other, `a ${pass.other} call inside`).toBe(
                  pass.otherJoins ? seen.outer : "CONFLICT",
                );
                expect(seen.holdersAfter, "holders after the inner calls").toBe(1);
                await untilFree(manager, key, rootDir);
              }
            }),
          CASE_TIMEOUT_MS,
        );

        it(
          pass.titles.leaving,
          (test) =>
            contend(async ({ rootDir, sides: [a, b] }) => {
              const key = "contract:caller-leaves";
              const runLeaving = leavingRun(a.adapter, test.skip);
              const witness = new Witness();
              const log: string[] = [];
              const entered = gate();
              try {
                const companions = await fill(pass, b, key, witness, entered.opened);
                const first = witness.place(pass.hold);
                let second: Promise<void> | undefined;
                await runLeaving(key, pass.hold, (_token, leave) =>
                  first.section(async () => {
                    log.push("first entered");
                    second = nextRun(pass, b, key, witness, log, entered.open);
                    await untilWaiting(a.manager, key, rootDir, 1);
                    await leave();
                    log.push("first's caller left");
                    // The integration has handled the leaving; a hold that ended with it would have
                    // sent its delete by now, before this inspection on the same session.
                    const { holders, waiters } = await a.manager.inspect(key, { rootDir });
                    expect(holders, "the first run (and its companions) still hold").toHaveLength(
                      pass.companions + 1,
                    );
                    expect(waiters, "the second run still waits").toHaveLength(1);
                    log.push("first's work ended");
                  }),
                );
                await second;
                await companions.done;
              } finally {
                entered.open();
              }
              expect(witness.violations, "runs inside with runs ahead of them they exclude").toEqual([]);
              expect(log).toEqual(LEAVING_ORDER);
              await untilFree(a.manager, key, rootDir);
            }),
          CASE_TIMEOUT_MS,
        );

        it(
          `${pass.titles.rounds}, ${LEAVING_ROUNDS} rounds with random timings (seed ${SEED})`,
          (test) =>
            contend(async ({ rootDir, sides: [a, b] }) => {
              const key = "contract:caller-leaves-rounds";
              const runLeaving = leavingRun(a.adapter, test.skip);
              const random = seededRandom(SEED);
              for (let round = 1; round <= LEAVING_ROUNDS; round++) {
                // The shape of a handler that a client leaves 200 ms into its 1 s, scaled down: the
                // work lasts 40-120 ms, its caller leaves after 10-50 % of it, and the next caller
                // arrives from a little before that to well after it.
                const duration = 40 + random() * 80;
                const leaveAt = duration * (0.1 + random() * 0.4);
                const arriveAt = Math.max(0, leaveAt + duration * (random() * 0.5 - 0.15));
                const timings = `round ${round} of seed ${SEED}: work ${duration.toFixed(0)} ms, caller leaves at ${leaveAt.toFixed(0)} ms, next arrives at ${arriveAt.toFixed(0)} ms`;
                const witness = new Witness();
                const log: string[] = [];
                const entered = gate();
                try {
                  const companions = await fill(pass, b, key, witness, entered.opened);
                  const first = witness.place(pass.hold);
                  let second: Promise<void> | undefined;
                  await runLeaving(key, pass.hold, (_token, leave) =>
                    first.section(async () => {
                      log.push("first entered");
                      const arrived = sleep(arriveAt).then(() => {
                        second = nextRun(pass, b, key, witness, log, entered.open);
                      });
                      await sleep(leaveAt);
                      await leave();
                      log.push("first's caller left");
                      await Promise.all([sleep(duration - leaveAt), arrived]);
                      log.push("first's work ended");
                    }),
                  );
                  await second;
                  await companions.done;
                } finally {
                  entered.open();
                }
                expect(witness.violations, timings).toEqual([]);
                expect(log, timings).toEqual(LEAVING_ORDER);
              }
              await untilFree(a.manager, key, rootDir);
            }),
          CASE_TIMEOUT_MS,
        );
      });
    }
  });
}
