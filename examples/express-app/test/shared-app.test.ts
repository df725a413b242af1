import type { INestApplication } from "@nestjs/common";
import { ZkLockManager } from "@zk-dist-lock/core";
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import ZooKeeper from "zookeeper";
import { Ledger } from "../src/ledger.js";
import { createSharedApp } from "../src/shared-app.js";

const connect = inject("zkConnect");
let client: ZooKeeper;
let manager: ZkLockManager;
let app: INestApplication;
let base: string;
const ledger = new Ledger();

beforeAll(async () => {
  client = new ZooKeeper({ connect, timeout: 10_000 });
  let connected = false;
  client.once("connect", () => {
    connected = true;
  });
  client.init({});
  await waitFor(() => connected, { timeoutMs: 20_000, message: "a ZooKeeper connection" });
  manager = new ZkLockManager({ rootDir: `/example-express-app-${process.pid}`, acquireTimeout: 10_000 });
  manager.init(client);
  app = await createSharedApp(manager, ledger);
  await app.listen(0, "127.0.0.1");
  base = (await app.getUrl()).replace("[::1]", "127.0.0.1");
});

afterAll(async () => {
  await app?.close();
  await manager?.close();
  client?.close();
});

const post = (path: string) => fetch(`${base}${path}`, { method: "POST" });

describe("a Nest application and Express routes sharing one ZkLockManager", () => {
  it("serializes Express deposits and Nest fees on one account: no update is lost or refused", async () => {
    const requests = [
      ...Array.from({ length: 8 }, () => post("/accounts/shared/deposit?amount=5")),
      ...Array.from({ length: 8 }, () => post("/accounts/shared/fee")),
    ];
    const statuses = (await Promise.all(requests)).map((response) => response.status);
    expect(statuses.filter((status) => status >= 300)).toEqual([]);
    // Every read-wait-write saw the previous one's result: 8 × 5 − 8 × 1.
    expect(ledger.balance("shared")).toBe(32);
  });

  it("lets a Nest @DistributedLock() method re-enter the hold the Express middleware took", async () => {
    await post("/accounts/closing/deposit?amount=3");
    const response = await post("/accounts/closing/close");
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ closed: true, reentered: true });
    expect(ledger.balance("closing")).toBe(0);
    const { holder, waiters } = await manager.inspect("account:closing");
    expect({ holder, waiters }).toEqual({ holder: undefined, waiters: [] });
  });
});
