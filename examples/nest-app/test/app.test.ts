import "reflect-metadata";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { INestApplication } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { ZkLockManager } from "@zk-dist-lock/core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AppModule } from "../src/app.module.js";

const connect = inject("zkConnect");
let app: INestApplication;
let url: string;

beforeAll(async () => {
  app = await NestFactory.create(AppModule.register(connect), { logger: false, abortOnError: false });
  await app.listen(0, "127.0.0.1");
  url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
});

afterAll(async () => {
  await app?.close();
});

const deposit = (account: string) => fetch(`${url}/accounts/${account}/deposit?amount=1`, { method: "POST" });

describe("the Nest example app", () => {
  it("loses no concurrent deposit to one account, and fences each with a newer token", async () => {
    const account = `acc-${Date.now()}`;
    const responses = await Promise.all(Array.from({ length: 20 }, () => deposit(account)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as {
      balance: number;
      token: string;
    }[];
    const byBalance = bodies.sort((a, b) => a.balance - b.balance);
    expect(byBalance.map((b) => b.balance)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const tokens = byBalance.map((b) => BigInt(b.token));
    expect(tokens.every((token, i) => i === 0 || token > (tokens[i - 1] as bigint))).toBe(true);
    expect(await (await fetch(`${url}/accounts/${account}`)).json()).toEqual({
      accountId: account,
      balance: 20,
    });
  });

  it("answers 423 Locked when the account stays held past the timeout", async () => {
    const account = `busy-${Date.now()}`;
    const other = app.get(ZkLockManager);
    // Held on the app's own manager, but outside the request's call chain: a separate contender.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holding = other.withLock(`account:${account}`, () => held, { rootDir: "/example-nest-app/locks" });
    try {
      const response = await deposit(account); // waits the module's acquireTimeout (5 s)
      expect(response.status).toBe(423);
    } finally {
      release();
      await holding;
    }
  }, 20_000);

  it("runs as `pnpm start --demo` against the test's ZooKeeper", async () => {
    const cwd = fileURLToPath(new URL("..", import.meta.url));
    const { stdout } = await promisify(execFile)("pnpm", ["start", "--demo"], {
      cwd,
      env: { ...process.env, ZK_CONNECT: connect },
      timeout: 60_000,
    });
    expect(stdout).toContain("50 concurrent deposits of 1 → statuses 201, balance 50");
    // The OpenTelemetry wiring saw every deposit's lock, and the contention among them.
    const [, acquisitions, waited] = /locks: (\d+) acquisitions, (\d+) waited/.exec(stdout) ?? [];
    expect(Number(acquisitions)).toBe(50);
    expect(Number(waited)).toBeGreaterThan(0);
  }, 90_000);
});
