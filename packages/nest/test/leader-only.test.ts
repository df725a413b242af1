// @LeaderOnly() with the real @nestjs/schedule, on two Nest applications in this process, each
// with its own module, manager and ZooKeeper session, as two instances of one service would be.
import { type INestApplication, Injectable, type LoggerService, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { Cron, Interval, ScheduleModule, SchedulerRegistry } from "@nestjs/schedule";
import { isLockError } from "@zk-dist-lock/core";
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { currentTerm, LeaderOnly, type LeaderOnlyOptions, ZkLockModule } from "../src/index.js";
import { createApp, uniqueRoot } from "./helpers.js";

const connect = inject("zkConnect");
const rootDir = uniqueRoot();

@Injectable()
class Ticker {
  readonly ticks: bigint[] = [];
  readonly crons: bigint[] = [];

  // Written above the election: applied after it, on its wrapper.
  @Interval("tick", 50)
  @LeaderOnly("ticker", { rootDir })
  async tick() {
    const { token, signal, election } = currentTerm();
    expect(signal.aborted).toBe(false);
    expect(election).toBe("ticker");
    this.ticks.push(token);
  }

  // Written below it: applied first, its metadata copied onto the wrapper.
  @LeaderOnly(undefined, { rootDir, skipLog: false })
  @Cron("* * * * * *", { name: "cron-tick" })
  async cronTick() {
    this.crons.push(currentTerm().token);
  }
}

/** Every line the applications logged (Nest's logger is one per process). */
const logged: string[] = [];
const logger: LoggerService = {
  log: (message: unknown) => logged.push(String(message)),
  warn: (message: unknown) => logged.push(String(message)),
  error: (message: unknown) => logged.push(String(message)),
};

async function instance(): Promise<INestApplication> {
  @Module({
    imports: [ScheduleModule.forRoot(), ZkLockModule.forRoot({ connect, label: "instance" })],
    providers: [Ticker],
  })
  class AppModule {}
  const app = await NestFactory.create(AppModule, { logger, abortOnError: false });
  return app.init();
}

describe("@LeaderOnly() on scheduled methods", () => {
  const apps: INestApplication[] = [];
  afterAll(() => Promise.allSettled(apps.map((app) => app.close())));

  it("runs on the leading instance only, logs the skips elsewhere, and moves with the leadership", async () => {
    const a = await instance();
    apps.push(a);
    await waitFor(() => a.get(Ticker).ticks.length >= 3, { message: "the first instance to tick as leader" });
    const b = await instance();
    apps.push(b);
    // Both orders of the decorators left a scheduled job behind.
    expect(b.get(SchedulerRegistry).getInterval("tick")).toBeDefined();
    expect(b.get(SchedulerRegistry).getCronJob("cron-tick")).toBeDefined();
    await waitFor(() => logged.some((line) => line.startsWith("Skipped Ticker.tick()")), {
      message: "the second instance to skip",
    });
    expect(b.get(Ticker).ticks).toEqual([]);
    expect(logged).toContain('Skipped Ticker.tick(): this instance does not lead "ticker" (campaigning).');
    expect(logged.some((line) => line.startsWith("Skipped Ticker.cronTick()"))).toBe(false); // skipLog: false
    await waitFor(() => a.get(Ticker).crons.length >= 1, {
      timeoutMs: 5000,
      message: "a cron firing on the leader",
    });
    expect(b.get(Ticker).crons).toEqual([]);

    // The leader shuts down: it resigns, and the other instance leads with a newer token.
    const lastToken = a.get(Ticker).ticks.at(-1) as bigint;
    await a.close();
    await waitFor(() => b.get(Ticker).ticks.length >= 3, { message: "the second instance to lead" });
    expect(b.get(Ticker).ticks[0]).toBeGreaterThan(lastToken);
    expect(logged).toContain('This instance resigns from "ticker".');
    expect(logged.filter((line) => line.startsWith('This instance leads "ticker"'))).toHaveLength(2);
  });

  it("fails at bootstrap without ZkLockModule, naming the decorator", async () => {
    @Injectable()
    class Lonely {
      @LeaderOnly()
      async run() {}
    }
    @Module({ providers: [Lonely] })
    class BareModule {}
    const failure = await createApp(BareModule).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isLockError(failure, "NOT_INITIALIZED")).toBe(true);
    expect((failure as Error).message).toMatch(/Lonely uses @LeaderOnly\(\), which needs ZkLockModule/);
  });

  it("refuses bad arguments when the class is defined", () => {
    expect(() => LeaderOnly("")).toThrow(/non-empty election name/);
    expect(() => LeaderOnly("x", { skipLog: "loud" as "log" })).toThrow(/skipLog must be a Nest log level/);
    expect(() => LeaderOnly("x", null as unknown as object)).toThrow(/options must be an object/);
  });

  it.each([
    [
      { foo: 1 },
      /^@LeaderOnly\(\) options: unknown option "foo"; the options are rootDir, label, skipLog\.$/,
    ],
    [{ rootDir: "nope" }, /^@LeaderOnly\(\) options: rootDir "nope" must be an absolute path/],
  ])("refuses the election options %j when the class is defined, not at bootstrap", (options, message) => {
    // The decorator factory runs where the class is defined.
    expect(() => LeaderOnly("x", options as LeaderOnlyOptions)).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", message: expect.stringMatching(message) }),
    );
  });
});
