import { isLockError, type LockError } from "@zk-dist-lock/core";
import { waitFor } from "@zk-dist-lock/testing";
import type { ErrorRequestHandler } from "express";
import { describe, expect, inject, it } from "vitest";
import { distributedLock } from "../src/index.js";
import {
  type ExpressModule,
  expressVersions,
  gate,
  openManager,
  rawGet,
  serve,
  sharedManager,
  uniqueRoot,
} from "./support.js";

const connect = inject("zkConnect");
const zk = sharedManager();

type WaitOptions = Omit<Parameters<typeof distributedLock>[1], "key" | "rootDir">;

/** An app whose /hold route keeps the lock on `resource` until `finish` opens; /wait contends for it. */
async function busyApp(
  resource: string,
  rootDir: string,
  waitOptions: WaitOptions,
  framework: ExpressModule,
) {
  const entered = gate();
  const finish = gate();
  const waitRan: string[] = [];
  const errors: unknown[] = [];
  const app = await serve((app) => {
    app.get("/hold", distributedLock(zk.manager, { key: resource, rootDir }), async (_req, res) => {
      entered.open();
      await finish.opened;
      res.sendStatus(204);
    });
    app.get("/wait", distributedLock(zk.manager, { key: resource, rootDir, ...waitOptions }), (req, res) => {
      waitRan.push(req.url);
      res.sendStatus(204);
    });
    const record: ErrorRequestHandler = (error, _req, res, _next) => {
      errors.push(error);
      res.sendStatus(599);
    };
    app.use(record);
  }, framework);
  const holder = fetch(app.url("/hold"));
  await entered.opened;
  return { app, holder, finish, waitRan, errors };
}

describe.each(expressVersions)("%s: distributedLock() when the lock is busy", (_version, framework) => {
  it("answers 423 with the text body Locked after acquireTimeout and leaves no node behind", async () => {
    const rootDir = uniqueRoot();
    const busy = await busyApp("busy-423", rootDir, { acquireTimeout: 100 }, framework);
    try {
      const response = await fetch(busy.app.url("/wait"));
      expect(response.status).toBe(423);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await response.text()).toBe("Locked");
      expect(busy.waitRan).toEqual([]);
      expect((await zk.manager.inspect("busy-423", { rootDir })).waiters).toEqual([]);
    } finally {
      busy.finish.open();
      expect((await busy.holder).status).toBe(204);
      await busy.app.close();
    }
  });

  it("lets onLocked answer instead, for example 503 with Retry-After", async () => {
    const rootDir = uniqueRoot();
    const seen: LockError[] = [];
    const busy = await busyApp(
      "busy-503",
      rootDir,
      {
        acquireTimeout: 0,
        onLocked: (_req, res, _next, error) => {
          seen.push(error);
          res.set("Retry-After", "1").sendStatus(503);
        },
      },
      framework,
    );
    try {
      const response = await fetch(busy.app.url("/wait"));
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("1");
      expect(seen).toHaveLength(1);
      expect(isLockError(seen[0], "TIMEOUT")).toBe(true);
    } finally {
      busy.finish.open();
      await busy.holder;
      await busy.app.close();
    }
  });

  it("passes what onLocked throws or rejects with to next(err)", async () => {
    const rootDir = uniqueRoot();
    const busy = await busyApp(
      "busy-throw",
      rootDir,
      {
        acquireTimeout: 0,
        onLocked: async () => {
          throw new Error("onLocked failed");
        },
      },
      framework,
    );
    try {
      expect((await fetch(busy.app.url("/wait"))).status).toBe(599);
      expect(busy.errors).toMatchObject([{ message: "onLocked failed" }]);
    } finally {
      busy.finish.open();
      await busy.holder;
      await busy.app.close();
    }
  });

  it("stops waiting when the client goes away, and never runs that handler", async () => {
    const rootDir = uniqueRoot();
    const busy = await busyApp("busy-abort", rootDir, {}, framework);
    try {
      const waiter = rawGet(busy.app.port, "/wait");
      await waitFor(async () => (await zk.manager.inspect("busy-abort", { rootDir })).waiters.length === 1);
      waiter.abort();
      expect(await waiter.response).toBe("aborted");
      await waitFor(async () => (await zk.manager.inspect("busy-abort", { rootDir })).waiters.length === 0);
      busy.finish.open();
      expect((await busy.holder).status).toBe(204);
      await zk.untilFree("busy-abort", rootDir);
      expect(busy.waitRan).toEqual([]);
      expect(busy.errors).toEqual([]);
      expect(zk.holds("busy-abort", rootDir)).toEqual({ acquired: 1, released: 1 });
    } finally {
      busy.finish.open();
      await busy.app.close();
    }
  });

  it("passes other failures to next(err), such as a manager without a session", async () => {
    const closed = await openManager(connect);
    await closed.close();
    const errors: unknown[] = [];
    const app = await serve((app) => {
      app.get("/x", distributedLock(closed.manager, { key: "k", rootDir: uniqueRoot() }), (_req, res) => {
        res.sendStatus(204);
      });
      const record: ErrorRequestHandler = (error, _req, res, _next) => {
        errors.push(error);
        res.sendStatus(500);
      };
      app.use(record);
    }, framework);
    try {
      expect((await fetch(app.url("/x"))).status).toBe(500);
      expect(isLockError(errors[0], "NOT_INITIALIZED")).toBe(true);
    } finally {
      await app.close();
    }
  });
});
