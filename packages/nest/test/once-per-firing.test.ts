// @OncePerFiring() with the real @nestjs/schedule, on Nest applications in this process that
// each have their own module, manager, ZooKeeper session and clock.
import { type INestApplication, Injectable, Module } from "@nestjs/common";
import { Cron, Interval, ScheduleModule } from "@nestjs/schedule";
import { isLockError } from "@zk-dist-lock/core";
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import {
  currentFiring,
  OncePerFiring,
  type OncePerFiringOptions,
  type ZkLockClock,
  ZkLockModule,
} from "../src/index.js";
import { connectClient, createApp, uniqueRoot } from "./helpers.js";

const connect = inject("zkConnect");

/** A clock the test sets, for firings whose scheduled time it chooses. */
class TestClock implements ZkLockClock {
  at = Date.parse("2030-01-01T00:00:00.000Z");
  now() {
    return this.at;
  }
}

describe("@OncePerFiring()", () => {
  const apps: INestApplication[] = [];
  afterAll(() => Promise.allSettled(apps.map((app) => app.close())));

  async function instance<T>(provider: new (...args: never[]) => T, clock?: ZkLockClock) {
    @Module({
      imports: [ScheduleModule.forRoot(), ZkLockModule.forRoot({ connect, clock })],
      providers: [provider],
    })
    class AppModule {}
    const app = await (await createApp(AppModule)).init();
    apps.push(app);
    return app.get(provider);
  }

  it("runs each interval window on one instance, whichever order the decorators are in", async () => {
    const rootDir = uniqueRoot();
    const runs: string[] = [];
    @Injectable()
    class Sweeper {
      @Interval(100)
      @OncePerFiring("sweep", { rootDir, skipLog: false })
      async sweep() {
        runs.push(`sweep ${currentFiring().fireTime.toISOString()}`);
      }

      @OncePerFiring(undefined, { rootDir, skipLog: false })
      @Interval(100)
      async tidy() {
        runs.push(`tidy ${currentFiring().job} ${currentFiring().fireTime.getTime() % 100}`);
      }
    }
    await Promise.all([instance(Sweeper), instance(Sweeper)]);
    // Two instances fire every 100 ms each, at their own phase: one run per 100 ms window.
    await waitFor(() => runs.filter((run) => run.startsWith("sweep")).length >= 8, { message: "sweeps" });
    const sweeps = runs.filter((run) => run.startsWith("sweep"));
    expect(new Set(sweeps).size).toBe(sweeps.length);
    expect(runs.filter((run) => run.startsWith("tidy")).every((run) => run === "tidy Sweeper.tidy 0")).toBe(
      true,
    );
    expect(runs.some((run) => run.startsWith("tidy"))).toBe(true);
  });

  it("gives each firing to one instance however late the others call, since the claim outlives the run", async () => {
    const rootDir = uniqueRoot();
    const runs: string[] = [];
    @Injectable()
    class Report {
      // Never due in this test: the test calls it, as the scheduler would.
      @Cron("0 0 0 1 1 *")
      @OncePerFiring("report", { rootDir })
      async build(who: string) {
        runs.push(`${who} ${currentFiring().fireTime.toISOString()}`);
        return who;
      }
    }
    const clockA = new TestClock();
    const clockB = new TestClock();
    const [a, b] = await Promise.all([instance(Report, clockA), instance(Report, clockB)]);
    // Each instance's scheduler fires a few milliseconds after the second it is due.
    clockA.at += 12;
    expect(await a.build("a")).toBe("a");
    // B's clock runs 1.5 s late, far more than the job took: it fires afterwards, for the same second.
    clockB.at += 1507 - 1500;
    expect(await b.build("b")).toBeUndefined();
    clockB.at += 1000; // its next firing is the next second's, and runs
    expect(await b.build("b")).toBe("b");
    expect(runs).toEqual(["a 2030-01-01T00:00:00.000Z", "b 2030-01-01T00:00:01.000Z"]);

    // The claims are nodes named after their fire time (under its day and minute), which record
    // who won them.
    const zk = await connectClient(connect);
    try {
      const [children] = (await zk.get_children2(`${rootDir}/report/2030-01-01/00:00`, false)) as unknown as [
        string[],
      ];
      expect(children.sort()).toEqual(["00.000Z", "01.000Z"]);
    } finally {
      zk.close();
    }
  });

  it("fails at bootstrap on a method that has no schedule and no period", async () => {
    @Injectable()
    class Unscheduled {
      @OncePerFiring()
      async run() {}
    }
    const failure = await instance(Unscheduled).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isLockError(failure, "INVALID_ARGUMENT")).toBe(true);
    expect(String(failure)).toMatch(/Unscheduled.run cannot tell one firing from the next/);
  });

  it("refuses bad arguments when the class is defined", () => {
    expect(() => OncePerFiring("")).toThrow(/non-empty job name/);
    expect(() => OncePerFiring("x", { period: 0 })).toThrow(/period must be a positive whole number/);
    expect(() => OncePerFiring("x", { skipLog: 1 as unknown as false })).toThrow(/skipLog/);
  });

  it.each([
    [
      { retention: -5 },
      /^@OncePerFiring\(\) options: retention must be a positive whole number of milliseconds/,
    ],
    [{ rootDir: "nope" }, /^@OncePerFiring\(\) options: rootDir "nope" must be an absolute path/],
    [
      { retension: 5 },
      /^@OncePerFiring\(\) options: unknown option "retension"; did you mean "retention"\?$/,
    ],
  ])("refuses the claim options %j when the class is defined, not at bootstrap", (options, message) => {
    // The decorator factory runs where the class is defined.
    expect(() => OncePerFiring("x", options as OncePerFiringOptions)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringMatching(message) }),
    );
  });
});
