import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openManager, uniqueRoot } from "./support/client.js";
import { childrenOf } from "./support/zk.js";

const connect = inject("zkConnect");
let zk: Awaited<ReturnType<typeof openManager>>;
beforeAll(async () => {
  zk = await openManager(connect);
});
afterAll(() => zk?.close());

describe("re-entrancy by async call chain", () => {
  it("joins the hold of the same chain instead of deadlocking, with the same token", async () => {
    const rootDir = uniqueRoot();
    const { manager } = zk;
    const result = await manager.withLock(
      "r",
      async (outer) => {
        expect(manager.current("r", { rootDir })).toBe(outer.lock);
        // The nested call goes through a helper and a timer: still the same async chain.
        const inner = await new Promise<bigint>((resolve, reject) =>
          setTimeout(
            () =>
              manager
                .withLock(
                  "r",
                  ({ token, lock }) => {
                    expect(lock).toBe(outer.lock);
                    expect(lock.holdCount).toBe(2);
                    return token;
                  },
                  { rootDir, acquireTimeout: 1000 },
                )
                .then(resolve, reject),
            1,
          ),
        );
        expect(inner).toBe(outer.token);
        expect(outer.lock.holdCount).toBe(1);
        expect(await childrenOf(zk.client, outer.lock.path)).toHaveLength(1);
        return "done";
      },
      { rootDir },
    );
    expect(result).toBe("done");
    expect(await childrenOf(zk.client, `${rootDir}/r`)).toEqual([]);
  });

  it("does not join across resources or root directories", async () => {
    const rootDir = uniqueRoot();
    const other = uniqueRoot();
    const { manager } = zk;
    await manager.withLock(
      "r",
      async (outer) => {
        await manager.withLock("s", ({ lock }) => expect(lock).not.toBe(outer.lock), { rootDir });
        await manager.withLock("r", ({ lock }) => expect(lock).not.toBe(outer.lock), { rootDir: other });
      },
      { rootDir },
    );
  });

  it("keeps concurrent, unrelated chains of one process exclusive and first come, first served", async () => {
    const rootDir = uniqueRoot();
    const { manager } = zk;
    let inside = 0;
    let overlaps = 0;
    const order: number[] = [];
    const chain = (id: number) =>
      manager.withLock(
        "shared",
        async () => {
          if (++inside > 1) overlaps++;
          order.push(id);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inside--;
        },
        { rootDir },
      );
    await Promise.all([0, 1, 2, 3, 4, 5].map(chain));
    expect(overlaps).toBe(0);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("is not visible outside the chain once withLock returned", async () => {
    const rootDir = uniqueRoot();
    await zk.manager.withLock("r", () => {}, { rootDir });
    expect(zk.manager.current("r", { rootDir })).toBeUndefined();
  });

  it("ends with the release, also for callbacks the function left behind: they take holds of their own", async () => {
    const rootDir = uniqueRoot();
    const { manager } = zk;
    let inside = 0;
    let overlaps = 0;
    const late: Promise<{ current: unknown; joined: boolean }>[] = [];
    const outer = await manager.withLock(
      "r",
      ({ lock }) => {
        // Two timers of this chain that fire after the hold was released.
        for (let i = 0; i < 2; i++) {
          late.push(
            new Promise((resolve, reject) =>
              setTimeout(() => {
                const current = manager.current("r", { rootDir });
                manager
                  .withLock(
                    "r",
                    async ({ lock: own }) => {
                      if (++inside > 1) overlaps++;
                      await new Promise((done) => setTimeout(done, 10));
                      inside--;
                      return { current, joined: own === lock };
                    },
                    { rootDir },
                  )
                  .then(resolve, reject);
              }, 20),
            ),
          );
        }
        return lock;
      },
      { rootDir },
    );
    expect(outer.holdCount).toBe(0);
    expect(await Promise.all(late)).toEqual([
      { current: undefined, joined: false },
      { current: undefined, joined: false },
    ]);
    expect(overlaps).toBe(0);
    expect(await childrenOf(zk.client, `${rootDir}/r`)).toEqual([]);
  });
});
