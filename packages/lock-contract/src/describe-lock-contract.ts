import { randomUUID } from "node:crypto";
import { seededRandom, waitFor } from "@zk-dist-lock/testing";
import type {} from "@zk-dist-lock/testing/vitest";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { ContractManager, ContractOptions, LockAdapter, MakeAdapter } from "./lock-adapter.js";
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

/**
 * Declares the lock contract that every way of taking a lock must keep, as a vitest suite against
 * the run's shared ZooKeeper (`inject("zkConnect")`). It opens two managers on two sessions, so
 * that exclusion is checked between sessions as between processes, and gives each case a fresh
 * `rootDir`:
 *
 * 1. runs on one key never overlap and all complete;
 * 2. runs on different keys proceed at the same time;
 * 3. fencing tokens strictly increase from run to run, across sessions;
 * 4. a work that throws makes the run reject and frees the lock;
 * 5. inside the work, `manager.withLock()` on the same key joins the hold (same token);
 * 6. where the caller can go away mid-run (the adapter has `runLeaving`), the hold stands until the
 *    work has ended, and the next run enters only then;
 * 7. the same, 20 rounds in a row with seeded random timings (`LOCK_CONTRACT_SEED` replays a seed).
 *
 * @example
 * ```ts
 * import { ZkLockManager } from "@zk-dist-lock/core";
 * import { describeLockContract } from "@zk-dist-lock/lock-contract";
 *
 * describeLockContract(
 *   "core withLock()",
 *   async (manager, rootDir) => ({
 *     run: (key, work) => manager.withLock(key, ({ token }) => work(token), { rootDir }),
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

    /** Resolves once `count` contenders wait for `key` in ZooKeeper behind its holder. */
    async function untilWaiting(manager: M, key: string, rootDir: string, count: number): Promise<void> {
      await waitFor(async () => (await manager.inspect(key, { rootDir })).waiters.length === count, {
        timeoutMs: 10_000,
        intervalMs: 10,
        message: `${count} runs waiting for "${key}"`,
      });
    }

    /** `runLeaving` of the adapter, or a skip of the case when its caller cannot go away. */
    function leavingRun(adapter: LockAdapter, skip: (note: string) => never) {
      const { runLeaving } = adapter;
      if (runLeaving === undefined) return skip("this integration has no caller that can go away");
      return runLeaving.bind(adapter);
    }

    /**
     * The run that comes after the one whose caller leaves: it notes its entry in `log`, inside
     * `witness`. The case awaits it at the end; when an assertion fails before, closing the adapters
     * ends it, and its rejection must not count as unhandled.
     */
    function nextRun(side: Side<M>, key: string, witness: Witness, log: string[]): Promise<void> {
      const run = side.adapter.run(key, () =>
        witness.section(async () => {
          log.push("second entered");
        }),
      );
      run.catch(() => {});
      return run;
    }

    /** Resolves once nobody holds or waits for `key` in ZooKeeper. */
    async function untilFree(manager: M, key: string, rootDir: string): Promise<void> {
      await waitFor(
        async () => {
          const { holder, waiters } = await manager.inspect(key, { rootDir });
          return holder === undefined && waiters.length === 0;
        },
        { timeoutMs: 10_000, message: `the lock on "${key}" to be free` },
      );
    }

    it(
      "never lets two runs on one key overlap, across sessions, and completes every run",
      () =>
        contend(async ({ rootDir, sides: [a, b] }) => {
          const key = "contract:exclusive";
          const runs = 8;
          const witness = new Witness();
          const results = await Promise.all(
            Array.from({ length: runs }, (_, i) =>
              (i % 2 === 0 ? a : b).adapter.run(key, () =>
                witness.section(async (entry) => {
                  if (entry === 1) {
                    // The first holder stays inside until every other run waits for the lock in
                    // ZooKeeper, so they all demonstrably contend; a broken lock lets one in
                    // meanwhile, which the witness records.
                    await waitFor(
                      async () =>
                        witness.max > 1 ||
                        (await a.manager.inspect(key, { rootDir })).waiters.length === runs - 1,
                      { timeoutMs: 20_000, intervalMs: 20, message: `${runs - 1} runs waiting for "${key}"` },
                    );
                  } else {
                    await new Promise((resolve) => setImmediate(resolve));
                  }
                  return i;
                }),
              ),
            ),
          );
          expect(witness.max, "most runs inside at once").toBe(1);
          expect(results).toEqual(Array.from({ length: runs }, (_, i) => i));
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      "runs works on different keys at the same time",
      () =>
        contend(async ({ sides: [a, b] }) => {
          // Each work waits inside its lock until all three are inside theirs: runs that were
          // serialised would miss the meeting and reject at its deadline.
          const meet = barrier(3, 8_000);
          const work = (result: string) => async () => {
            await meet.arrive();
            return result;
          };
          const results = await Promise.all([
            a.adapter.run("contract:parallel-1", work("one")),
            a.adapter.run("contract:parallel-2", work("two")),
            b.adapter.run("contract:parallel-3", work("three")),
          ]);
          expect(results).toEqual(["one", "two", "three"]);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      "hands out strictly increasing fencing tokens to successive runs, across sessions",
      () =>
        contend(async ({ sides: [a, b] }) => {
          const key = "contract:tokens";
          const tokens: bigint[] = [];
          for (let i = 0; i < 6; i++) {
            const side = i % 2 === 0 ? a : b;
            const answered = await side.adapter.run(key, async (token) => {
              expect(typeof token).toBe("bigint");
              tokens.push(token);
              return token.toString();
            });
            expect(answered).toBe(tokens.at(-1)?.toString());
          }
          for (let i = 1; i < tokens.length; i++) {
            expect(tokens[i]! > tokens[i - 1]!, `token ${tokens[i]} after ${tokens[i - 1]}`).toBe(true);
          }
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      "rejects a run whose work throws and frees the lock",
      () =>
        contend(async ({ rootDir, sides: [a, b] }) => {
          const key = "contract:failing";
          const failure = "contract: the work failed on purpose";
          await expect(
            a.adapter.run(key, async () => {
              throw new Error(failure);
            }),
          ).rejects.toThrow(failure);
          // Free without waiting for a session to end: the failed run's session lives on, so a
          // leaked hold would never go away. (An HTTP integration releases when the response
          // finishes, which its client may see a moment before the lock node is deleted.)
          await untilFree(b.manager, key, rootDir);
          expect(await a.adapter.run(key, async () => "again")).toBe("again");
          expect(await b.adapter.run(key, async () => "elsewhere")).toBe("elsewhere");
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      "lets manager.withLock() inside the work join the hold on the same key",
      () =>
        contend(async ({ rootDir, sides }) => {
          const key = "contract:reentrant";
          for (const { adapter, manager } of sides) {
            const seen = await adapter.run(key, async (token) => {
              // timeout 0: waiting for itself would fail at once instead of deadlocking.
              const inner = await manager.withLock(key, (context) => context.token, { rootDir, timeout: 0 });
              // Leaving the inner withLock() must not end the outer hold.
              const { holder } = await manager.inspect(key, { rootDir });
              return {
                outer: token.toString(),
                inner: inner.toString(),
                heldAfterInner: holder !== undefined,
              };
            });
            expect(seen.inner).toBe(seen.outer);
            expect(seen.heldAfterInner).toBe(true);
            await untilFree(manager, key, rootDir);
          }
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      "keeps the hold after the caller left mid-run, until the work ends, and only then lets the next run in",
      (test) =>
        contend(async ({ rootDir, sides: [a, b] }) => {
          const key = "contract:caller-leaves";
          const runLeaving = leavingRun(a.adapter, test.skip);
          const witness = new Witness();
          const log: string[] = [];
          let second: Promise<void> | undefined;
          await runLeaving(key, (_token, leave) =>
            witness.section(async () => {
              log.push("first entered");
              second = nextRun(b, key, witness, log);
              await untilWaiting(a.manager, key, rootDir, 1);
              await leave();
              log.push("first's caller left");
              // The integration has handled the leaving; a hold that ended with it would have sent
              // its delete by now, before this inspection on the same session.
              const { holder, waiters } = await a.manager.inspect(key, { rootDir });
              expect(holder, "the first run still holds the lock").toBeDefined();
              expect(waiters, "the second run still waits").toHaveLength(1);
              log.push("first's work ended");
            }),
          );
          await second;
          expect(witness.max, "most runs inside at once").toBe(1);
          expect(log).toEqual(LEAVING_ORDER);
          await untilFree(a.manager, key, rootDir);
        }),
      CASE_TIMEOUT_MS,
    );

    it(
      `lets the next run in only after the work whose caller left has ended, ${LEAVING_ROUNDS} rounds with random timings (seed ${SEED})`,
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
            let second: Promise<void> | undefined;
            await runLeaving(key, (_token, leave) =>
              witness.section(async () => {
                log.push("first entered");
                const arrived = sleep(arriveAt).then(() => {
                  second = nextRun(b, key, witness, log);
                });
                await sleep(leaveAt);
                await leave();
                log.push("first's caller left");
                await Promise.all([sleep(duration - leaveAt), arrived]);
                log.push("first's work ended");
              }),
            );
            await second;
            expect(witness.max, `most runs inside at once, ${timings}`).toBe(1);
            expect(log, timings).toEqual(LEAVING_ORDER);
          }
          await untilFree(a.manager, key, rootDir);
        }),
      CASE_TIMEOUT_MS,
    );
  });
}
