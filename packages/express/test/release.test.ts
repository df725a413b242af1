import { once } from "node:events";
import type { ErrorRequestHandler, NextFunction, Request, Response } from "express";
import { describe, expect, it } from "vitest";
import { ClientClosedError, distributedLock, getLock, type RouteLock } from "../src/index.js";
import { expressVersions, gate, rawGet, serve, sharedManager, uniqueRoot } from "./support.js";

const zk = sharedManager();

/** The lock is free in ZooKeeper, a fresh handle takes it without waiting, and the hold ended once. */
async function expectReleasedOnce(resource: string, rootDir: string) {
  await zk.untilFree(resource, rootDir);
  const next = zk.manager.createLock(resource, { rootDir });
  expect(await next.tryAcquire()).toBeTypeOf("bigint");
  await next.release();
  // The probe above added one hold of its own.
  expect(zk.holds(resource, rootDir)).toEqual({ acquired: 2, released: 2 });
}

/** Whether the request's hold is still there: its node holds the lock and it did not end. */
async function expectStillHeld(resource: string, rootDir: string) {
  expect((await zk.manager.inspect(resource, { rootDir })).holder).toBeDefined();
  expect(zk.holds(resource, rootDir)).toEqual({ acquired: 1, released: 0 });
}

/** How Express 4 users pass a rejection on: Express 4 itself leaves it unhandled. */
const guarded =
  (handler: (req: Request, res: Response) => Promise<void>) =>
  (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch(next);
  };

describe.each(expressVersions)(
  "%s: distributedLock() releases exactly once, however the request ends",
  (_version, framework) => {
    it("releases when a handler throws (Express answers 500)", async () => {
      const rootDir = uniqueRoot();
      const app = await serve(
        (app) =>
          app.get("/x", distributedLock(zk.manager, { key: "throws", rootDir }), () => {
            throw new Error("boom");
          }),
        framework,
      );
      try {
        expect((await fetch(app.url("/x"))).status).toBe(500);
        await expectReleasedOnce("throws", rootDir);
      } finally {
        await app.close();
      }
    });

    it("releases when an async handler's rejection goes to next(err)", async () => {
      const rootDir = uniqueRoot();
      const app = await serve(
        (app) =>
          app.get(
            "/x",
            distributedLock(zk.manager, { key: "rejects", rootDir }),
            guarded(async () => {
              await Promise.resolve();
              throw new Error("boom");
            }),
          ),
        framework,
      );
      try {
        expect((await fetch(app.url("/x"))).status).toBe(500);
        await expectReleasedOnce("rejects", rootDir);
      } finally {
        await app.close();
      }
    });

    it("keeps the hold when the client leaves mid-request, until the handler ends the response", async () => {
      const rootDir = uniqueRoot();
      const entered = gate();
      const finish = gate();
      const seen: { client?: unknown; lostMeanwhile?: boolean; after?: unknown } = {};
      const app = await serve(
        (app) =>
          app.get(
            "/x",
            distributedLock(zk.manager, { key: "left", rootDir }),
            guarded(async (_req, res) => {
              const lock = getLock(res);
              entered.open();
              await once(lock.clientSignal, "abort");
              seen.client = lock.clientSignal.reason;
              seen.lostMeanwhile = lock.signal.aborted;
              await finish.opened;
              res.sendStatus(204);
              seen.after = lock.signal.reason;
            }),
          ),
        framework,
      );
      try {
        const request = rawGet(app.port, "/x");
        await entered.opened;
        request.abort();
        expect(await request.response).toBe("aborted");
        await expect.poll(() => seen.client).toBeInstanceOf(ClientClosedError);
        expect((seen.client as ClientClosedError).message).toMatch(/^The client closed the connection/);
        expect(seen.lostMeanwhile, "signal aborted when the client left").toBe(false);
        await expectStillHeld("left", rootDir);

        finish.open();
        await expectReleasedOnce("left", rootDir);
        expect(seen.after).toMatchObject({
          code: "NOT_HELD",
          message: 'The lock on "left" was released: the response was ended.',
        });
      } finally {
        finish.open();
        await app.close();
      }
    });

    it("ends the hold at release() after the client left, and not again when the response ends", async () => {
      const rootDir = uniqueRoot();
      const entered = gate();
      const released = gate();
      const answer = gate();
      const app = await serve(
        (app) =>
          app.get(
            "/x",
            distributedLock(zk.manager, { key: "left-released", rootDir }),
            guarded(async (_req, res) => {
              const lock = getLock(res);
              entered.open();
              await once(lock.clientSignal, "abort");
              await lock.release();
              released.open();
              await answer.opened;
              res.sendStatus(204);
            }),
          ),
        framework,
      );
      try {
        const request = rawGet(app.port, "/x");
        await entered.opened;
        request.abort();
        await released.opened;
        await zk.untilFree("left-released", rootDir);
        expect(zk.holds("left-released", rootDir)).toEqual({ acquired: 1, released: 1 });
        answer.open();
        await expectReleasedOnce("left-released", rootDir);
      } finally {
        answer.open();
        await app.close();
      }
    });

    it("keeps the hold of an error handler that never answers until it calls release(), client or not", async () => {
      const rootDir = uniqueRoot();
      const errors: unknown[] = [];
      const release = gate();
      // Four parameters: that is how Express tells an error handler.
      const silent: ErrorRequestHandler = (error, _req, res, _next) => {
        errors.push(error);
        void release.opened.then(() => getLock(res).release());
        // Deliberately neither answers nor calls next(): the response is never sent.
      };
      const app = await serve((app) => {
        app.get("/x", distributedLock(zk.manager, { key: "silent", rootDir }), () => {
          throw new Error("boom");
        });
        app.use(silent);
      }, framework);
      try {
        const abandoned = rawGet(app.port, "/x");
        await expect.poll(() => errors.length).toBe(1);
        abandoned.abort();
        expect(await abandoned.response).toBe("aborted");
        await expectStillHeld("silent", rootDir);
        release.open();
        await expectReleasedOnce("silent", rootDir);
      } finally {
        release.open();
        await app.close();
      }
    });

    it("keeps the hold of a handler that throws after it started answering, until release()", async () => {
      const rootDir = uniqueRoot();
      let captured: RouteLock | undefined;
      const app = await serve(
        (app) =>
          app.get("/x", distributedLock(zk.manager, { key: "half-answered", rootDir }), (_req, res) => {
            captured = getLock(res);
            res.write("partial");
            // Express cannot answer 500 any more: it destroys the connection without ending the response.
            throw new Error("boom");
          }),
        framework,
      );
      try {
        const request = rawGet(app.port, "/x");
        expect(await request.response).toBe("reset");
        await expectStillHeld("half-answered", rootDir);
        expect(captured?.clientSignal.aborted).toBe(true);
        await captured?.release();
        await expectReleasedOnce("half-answered", rootDir);
      } finally {
        await app.close();
      }
    });

    it("release() from the handler frees the lock before the response, and only once", async () => {
      const rootDir = uniqueRoot();
      const app = await serve(
        (app) =>
          app.get(
            "/x",
            distributedLock(zk.manager, { key: "early", rootDir }),
            guarded(async (_req, res) => {
              const lock = getLock(res);
              await lock.release();
              await lock.release();
              const { holder } = await zk.manager.inspect("early", { rootDir });
              res.json({ freeBeforeResponse: holder === undefined, reason: lock.signal.reason.message });
            }),
          ),
        framework,
      );
      try {
        expect(await (await fetch(app.url("/x"))).json()).toEqual({
          freeBeforeResponse: true,
          reason: 'The lock on "early" was released: release() was called.',
        });
        await expectReleasedOnce("early", rootDir);
      } finally {
        await app.close();
      }
    });

    it("release() frees the lock also when two middlewares joined on its key", async () => {
      const rootDir = uniqueRoot();
      const lock = () => distributedLock(zk.manager, { key: "joined", rootDir });
      const app = await serve(
        (app) =>
          app.get(
            "/x",
            lock(),
            lock(),
            guarded(async (_req, res) => {
              await getLock(res).release();
              const { holder } = await zk.manager.inspect("joined", { rootDir });
              res.json({ freeBeforeResponse: holder === undefined });
            }),
          ),
        framework,
      );
      try {
        expect(await (await fetch(app.url("/x"))).json()).toEqual({ freeBeforeResponse: true });
        await expectReleasedOnce("joined", rootDir);
      } finally {
        await app.close();
      }
    });
  },
);

describe("distributedLock() on Express 5 alone", () => {
  it("releases when an async handler rejects: Express 5 passes it on to the error handler", async () => {
    const rootDir = uniqueRoot();
    const app = await serve((app) =>
      app.get("/x", distributedLock(zk.manager, { key: "rejects-5", rootDir }), async () => {
        await Promise.resolve();
        throw new Error("boom");
      }),
    );
    try {
      expect((await fetch(app.url("/x"))).status).toBe(500);
      await expectReleasedOnce("rejects-5", rootDir);
    } finally {
      await app.close();
    }
  });
});
