import type { ErrorRequestHandler } from "express";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { distributedLock, getLock } from "../src/index.js";
import { gate, openManager, rawGet, serve, type TestManager, uniqueRoot } from "./support.js";

const connect = inject("zkConnect");
let zk: TestManager;
beforeAll(async () => {
  zk = await openManager(connect);
});
afterAll(() => zk?.close());

/** The lock is free in ZooKeeper, a fresh handle takes it without waiting, and the hold ended once. */
async function expectReleasedOnce(resource: string, rootDir: string) {
  await zk.untilFree(resource, rootDir);
  const next = zk.manager.createLock(resource, { rootDir });
  expect(await next.tryAcquire()).toBeTypeOf("bigint");
  await next.release();
  // The probe above added one hold of its own.
  expect(zk.holds(resource)).toEqual({ acquired: 2, released: 2 });
}

describe("distributedLock() releases exactly once, however the request ends", () => {
  it("releases when a handler throws (Express answers 500)", async () => {
    const rootDir = uniqueRoot();
    const app = await serve((app) =>
      app.get("/x", distributedLock(zk.manager, { key: "throws", rootDir }), () => {
        throw new Error("boom");
      }),
    );
    try {
      expect((await fetch(app.url("/x"))).status).toBe(500);
      await expectReleasedOnce("throws", rootDir);
    } finally {
      await app.close();
    }
  });

  it("releases when an async handler rejects (Express 5 passes it on to the error handler)", async () => {
    const rootDir = uniqueRoot();
    const app = await serve((app) =>
      app.get("/x", distributedLock(zk.manager, { key: "rejects", rootDir }), async () => {
        await Promise.resolve();
        throw new Error("boom");
      }),
    );
    try {
      expect((await fetch(app.url("/x"))).status).toBe(500);
      await expectReleasedOnce("rejects", rootDir);
    } finally {
      await app.close();
    }
  });

  it("releases when the client goes away mid-request, while the handler still runs", async () => {
    const rootDir = uniqueRoot();
    const entered = gate();
    const finish = gate();
    const app = await serve((app) =>
      app.get("/x", distributedLock(zk.manager, { key: "aborted", rootDir }), async (_req, res) => {
        entered.open();
        await finish.opened;
        res.sendStatus(204);
      }),
    );
    try {
      const request = rawGet(app.port, "/x");
      await entered.opened;
      expect((await zk.manager.inspect("aborted", { rootDir })).holder).toBeDefined();
      request.abort();
      expect(await request.response).toBe("aborted");
      await expectReleasedOnce("aborted", rootDir);
    } finally {
      finish.open();
      await app.close();
    }
  });

  it("releases when an error handler never answers: on release() or when the client leaves", async () => {
    const rootDir = uniqueRoot();
    const errors: unknown[] = [];
    // Four parameters: that is how Express tells an error handler.
    const silent: ErrorRequestHandler = (error, _req, res, _next) => {
      errors.push(error);
      if (res.req.query.release === "1") void getLock(res).release();
      // Deliberately neither answers nor calls next(): the response is never sent.
    };
    const app = await serve((app) => {
      app.get("/x", distributedLock(zk.manager, { key: "silent", rootDir }), async () => {
        throw new Error("boom");
      });
      app.use(silent);
    });
    try {
      const released = rawGet(app.port, "/x?release=1");
      await expect.poll(() => errors.length).toBe(1);
      await zk.untilFree("silent", rootDir);
      expect(zk.holds("silent")).toEqual({ acquired: 1, released: 1 });

      const abandoned = rawGet(app.port, "/x");
      await expect.poll(() => errors.length).toBe(2);
      expect((await zk.manager.inspect("silent", { rootDir })).holder).toBeDefined();
      abandoned.abort();
      await zk.untilFree("silent", rootDir);
      expect(zk.holds("silent")).toEqual({ acquired: 2, released: 2 });

      // Closing the first request's connection now ends no hold a second time.
      released.abort();
      expect(await released.response).toBe("aborted");
      expect(zk.holds("silent")).toEqual({ acquired: 2, released: 2 });
    } finally {
      await app.close();
    }
  });

  it("release() from the handler frees the lock before the response, and only once", async () => {
    const rootDir = uniqueRoot();
    const app = await serve((app) =>
      app.get("/x", distributedLock(zk.manager, { key: "early", rootDir }), async (_req, res) => {
        const lock = getLock(res);
        await lock.release();
        await lock.release();
        const { holder } = await zk.manager.inspect("early", { rootDir });
        res.json({ freeBeforeResponse: holder === undefined, aborted: lock.signal.aborted });
      }),
    );
    try {
      expect(await (await fetch(app.url("/x"))).json()).toEqual({ freeBeforeResponse: true, aborted: true });
      await expectReleasedOnce("early", rootDir);
    } finally {
      await app.close();
    }
  });
});
