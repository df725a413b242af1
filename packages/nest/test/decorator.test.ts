import { type INestApplication, Injectable, Module } from "@nestjs/common";
import { isLockError, ZkLockManager } from "@zk-dist-lock/core";
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { currentLock, DistributedLock, ZkLockModule } from "../src/index.js";
import { createApp, uniqueRoot, Witness } from "./helpers.js";

const connect = inject("zkConnect");
const rootDir = uniqueRoot();
let witness = new Witness();

@Injectable()
class InnerService {
  @DistributedLock((id: string) => `job:${id}`)
  async step(_id: string) {
    return currentLock().token;
  }

  @DistributedLock("other")
  async otherStep() {
    const hold = currentLock();
    return { ...hold, abortedInside: hold.signal.aborted };
  }
}

@Injectable()
class JobService {
  constructor(
    readonly manager: ZkLockManager,
    readonly inner: InnerService,
  ) {}

  @DistributedLock((id: string) => `job:${id}`)
  async run(_id: string, who: string, whileInside: () => Promise<void>) {
    return witness.section(who, async () => {
      await whileInside();
      return currentLock().token;
    });
  }

  @DistributedLock((id: string) => `job:${id}`)
  async fail(_id: string, how: "throw" | "reject") {
    if (how === "throw") throw new Error("thrown inside");
    await Promise.resolve();
    return Promise.reject(new Error("rejected inside"));
  }

  @DistributedLock("sync")
  // Deliberately not async: the decorator turns the result into a Promise.
  syncWork(value: number) {
    return { value, held: this.manager.current("sync")?.isHeld };
  }

  @DistributedLock((id: string) => `job:${id}`)
  async outer(id: string) {
    const outerLock = currentLock();
    const innerToken = await this.inner.step(id); // same resource: joins the hold
    const other = await this.inner.otherStep(); // another resource: its own hold, inside ours
    const after = currentLock();
    return {
      outer: outerLock.token,
      inner: innerToken,
      other: other.resource,
      restored: after === outerLock,
    };
  }

  @DistributedLock((id: unknown) => id as string)
  async badKey(_id: unknown) {
    return "ran";
  }
}

function appModule() {
  @Module({
    imports: [ZkLockModule.forRoot({ connect, rootDir, acquireTimeout: 20_000 })],
    providers: [JobService, InnerService],
  })
  class AppModule {}
  return AppModule;
}

// Two application instances with separate modules, managers and ZooKeeper sessions, as two
// deployments of one service would be.
let appA: INestApplication;
let appB: INestApplication;
const jobs = () => [appA.get(JobService), appB.get(JobService)] as const;

beforeAll(async () => {
  appA = await createApp(appModule());
  appB = await createApp(appModule());
});

afterAll(async () => {
  await appA?.close();
  await appB?.close();
});

describe("@DistributedLock() across two Nest applications", () => {
  it("never lets two calls on one key overlap, and every later holder was queued meanwhile", async () => {
    witness = new Witness();
    const [a, b] = jobs();
    expect(a.manager).not.toBe(b.manager);
    const total = 6;
    let finished = 0;
    const waitersSeen: number[] = [];
    const calls = Array.from({ length: total }, (_, i) =>
      (i % 2 === 0 ? a : b).run("same", `call${i}`, async () => {
        // Stay inside until every caller that has not had its turn is queued in ZooKeeper: were
        // the lock not exclusive, they would be inside with us instead.
        const remaining = total - finished - 1;
        const { waiters } = await waitFor(
          async () => {
            const seen = await a.manager.inspect("job:same", { rootDir });
            return seen.waiters.length === remaining && seen;
          },
          { message: `${remaining} queued callers` },
        );
        waitersSeen.push(waiters.length);
        finished += 1;
      }),
    );
    const tokens = await Promise.all(calls);
    expect(witness.max).toBe(1);
    expect(waitersSeen).toEqual([5, 4, 3, 2, 1, 0]);
    expect(new Set(tokens).size).toBe(total);
    const entered = witness.log
      .filter((line) => line.endsWith("enter"))
      .map((line) => line.split(" ")[0] as string);
    const tokenOf = new Map(tokens.map((token, i) => [`call${i}`, token]));
    const inOrder = entered.map((who) => tokenOf.get(who) as bigint);
    expect(inOrder).toEqual([...inOrder].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
  });

  it("runs calls on different keys in parallel, in one application and across two", async () => {
    witness = new Witness();
    const [a, b] = jobs();
    // Each call stays inside until both are inside at once; serialised calls would time out here.
    const together = () => witness.together(2).then(() => {});
    await Promise.all([a.run("left", "a", together), a.run("right", "a2", together)]);
    witness = new Witness();
    await Promise.all([a.run("left", "a", together), b.run("right", "b", together)]);
    expect(witness.max).toBe(2);
  });

  it("releases when the method throws or rejects", async () => {
    const [a, b] = jobs();
    await expect(a.fail("failing", "throw")).rejects.toThrow("thrown inside");
    await expect(a.fail("failing", "reject")).rejects.toThrow("rejected inside");
    expect((await a.manager.inspect("job:failing", { rootDir })).holder).toBeUndefined();
    // The other instance gets it at once.
    const token = await b.run("failing", "b", async () => {});
    expect(typeof token).toBe("bigint");
  });

  it("lets a nested decorated call on the same resource join the hold instead of deadlocking", async () => {
    const [a] = jobs();
    const result = await a.outer("nested");
    expect(result.inner).toBe(result.outer);
    expect(result.other).toBe("other");
    expect(result.restored).toBe(true);
    expect((await a.manager.inspect("job:nested", { rootDir })).holder).toBeUndefined();
  });

  it("locks synchronous methods too, which then return a Promise", async () => {
    const [a] = jobs();
    const pending = a.syncWork(7);
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual({ value: 7, held: true });
  });

  it("refuses a key function that returns a non-string or empty key, before touching ZooKeeper", async () => {
    const [a] = jobs();
    const badRoot = uniqueRoot();
    @Injectable()
    class BadKeys {
      @DistributedLock((id: unknown) => id as string)
      async run(_id: unknown) {
        return "ran";
      }
    }
    @Module({ imports: [ZkLockModule.forRoot({ connect, rootDir: badRoot })], providers: [BadKeys] })
    class BadModule {}
    const app = await createApp(BadModule);
    try {
      const bad = app.get(BadKeys);
      for (const key of [42, "", undefined, { id: 1 }]) {
        const failure = await bad.run(key).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(isLockError(failure, "INVALID_ARGUMENT"), String(failure)).toBe(true);
        expect(String(failure)).toContain("BadKeys.run");
      }
      expect(await app.get(ZkLockManager).resources({ rootDir: badRoot })).toEqual([]);
      expect(await a.badKey("fine")).toBe("ran");
    } finally {
      await app.close();
    }
  });

  it("tells the body its fencing token and lost-lock signal, and nothing outside", async () => {
    const [a] = jobs();
    const seen = await a.inner.otherStep();
    expect(seen.resource).toBe("other");
    expect(seen.lock.resource).toBe("other");
    expect(typeof seen.token).toBe("bigint");
    expect(seen.signal).toBeInstanceOf(AbortSignal);
    expect(seen.abortedInside).toBe(false);
    expect(() => currentLock()).toThrowError(expect.objectContaining({ code: "NOT_HELD" }));
  });
});
