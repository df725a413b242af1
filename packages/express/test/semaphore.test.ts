// distributedSemaphore() and distributedLock()'s mode beyond the lock contract: the setup checks,
// CONFLICT answered 409, and a route that holds a permit and a lock at once.
import { isLockError, type ZkLockManager } from "@zk-dist-lock/core";
import { waitFor } from "@zk-dist-lock/testing";
import type { ErrorRequestHandler } from "express";
import { describe, expect, inject, it } from "vitest";
import { distributedLock, distributedSemaphore, getLock, getPermit } from "../src/index.js";
import { expressVersions, openManager, serve, sharedManager, uniqueRoot } from "./support.js";

const connect = inject("zkConnect");
const zk = sharedManager();

describe.each(expressVersions)("%s: CONFLICT answered 409", (_version, framework) => {
  it("answers 409 to a semaphore of other permits, a lock on a semaphore's key and an exclusive lock inside a shared one, and leaves no node", async () => {
    const rootDir = uniqueRoot();
    // Another instance, deployed with 3 permits, holds a permit of "geocoder".
    const other = await openManager(connect, { rootDir });
    const errors: unknown[] = [];
    const app = await serve((app) => {
      app.get(
        "/geocode",
        distributedSemaphore(zk.manager, { key: "geocoder", permits: 2, rootDir }),
        (_req, res) => {
          res.sendStatus(204);
        },
      );
      app.get("/lock", distributedLock(zk.manager, { key: "geocoder", rootDir }), (_req, res) => {
        res.sendStatus(204);
      });
      app.put(
        "/carts/1",
        distributedLock(zk.manager, { key: "cart:1", rootDir, mode: "shared" }),
        distributedLock(zk.manager, { key: "cart:1", rootDir }),
        (_req, res) => {
          res.sendStatus(204);
        },
      );
      const record: ErrorRequestHandler = (error, _req, _res, next) => {
        errors.push(error);
        next(error); // Express's default handler answers with the error's status
      };
      app.use(record);
    }, framework);
    try {
      await other.manager.withSemaphore(
        "geocoder",
        async () => {
          expect((await fetch(app.url("/geocode"))).status).toBe(409);
          expect((await fetch(app.url("/lock"))).status).toBe(409);
          const { holders, waiters } = await zk.manager.inspect("geocoder", { rootDir });
          expect([holders.length, waiters.length]).toEqual([1, 0]);
        },
        { permits: 3 },
      );
      expect((await fetch(app.url("/carts/1"), { method: "PUT" })).status).toBe(409);
      expect(errors).toHaveLength(3);
      for (const error of errors) {
        expect(isLockError(error, "CONFLICT")).toBe(true);
        expect(error).toMatchObject({ status: 409, statusCode: 409 });
      }
      await zk.untilFree("cart:1", rootDir);
    } finally {
      await app.close();
      await other.close();
    }
  });
});

describe("distributedSemaphore()", () => {
  it("puts its permit on res.locals.permit beside a lock on res.locals.lock, each named in its signal's reason", async () => {
    const rootDir = uniqueRoot();
    const reasons: string[] = [];
    const app = await serve((app) =>
      app.post(
        "/invoices/7/geocode",
        distributedSemaphore(zk.manager, { key: "geocoder", permits: 5, rootDir }),
        distributedLock(zk.manager, { key: "invoice:7", rootDir }),
        async (_req, res) => {
          const permit = getPermit(res);
          const lock = getLock(res);
          const [semaphore, invoice] = await Promise.all([
            zk.manager.inspect("geocoder", { rootDir }),
            zk.manager.inspect("invoice:7", { rootDir }),
          ]);
          res.on("finish", () => reasons.push(permit.signal.reason.message, lock.signal.reason.message));
          res.json({
            resources: [permit.resource, lock.resource],
            modes: [semaphore.holder?.mode, invoice.holder?.mode],
          });
        },
      ),
    );
    try {
      const response = await fetch(app.url("/invoices/7/geocode"), { method: "POST" });
      expect(await response.json()).toEqual({
        resources: ["geocoder", "invoice:7"],
        modes: ["semaphore", "exclusive"],
      });
      // The server's "finish" may come after the client has the whole response.
      await waitFor(() => reasons.length === 2, { message: "the response's finish" });
      expect(reasons).toEqual([
        'The permit of "geocoder" was released: the response was ended.',
        'The lock on "invoice:7" was released: the response was ended.',
      ]);
    } finally {
      await app.close();
    }
  });

  it("has getPermit(res) name the missing middleware", () => {
    const res = { locals: {} } as Parameters<typeof getPermit>[0];
    expect(() => getPermit(res)).toThrow(
      "No permit on this request: put distributedSemaphore(manager, { key, permits }) before this handler on the route.",
    );
  });
});

describe("distributedSemaphore() and distributedLock()'s mode refuse bad setup when the route is defined", () => {
  const manager = () => zk.manager;
  it.each([
    [
      "no permits",
      () => distributedSemaphore(manager(), { key: "k" } as never),
      /permits must be a positive integer/,
    ],
    ["0 permits", () => distributedSemaphore(manager(), { key: "k", permits: 0 }), /permits must be/],
    ["1.5 permits", () => distributedSemaphore(manager(), { key: "k", permits: 1.5 }), /permits must be/],
    [
      "a relative rootDir",
      () => distributedSemaphore(manager(), { key: "k", permits: 2, rootDir: "locks" }),
      /^distributedSemaphore\(\) options: rootDir "locks" must be an absolute path/,
    ],
    ["an empty static key", () => distributedSemaphore(manager(), { key: "", permits: 2 }), /empty/],
    [
      "something other than a manager",
      () => distributedSemaphore({} as ZkLockManager, { key: "k", permits: 2 }),
      /^distributedSemaphore\(manager, options\) needs the process's ZkLockManager/,
    ],
    [
      "a misspelt option",
      () => distributedSemaphore(manager(), { key: "k", permits: 2, maxHld: 5 } as never),
      /^distributedSemaphore\(\) options: unknown option "maxHld"; did you mean "maxHold"\?/,
    ],
    [
      "a mode that is not a lock's",
      () => distributedLock(manager(), { key: "k", mode: "read" as never }),
      /^distributedLock\(\) options: mode must be "exclusive" or "shared"/,
    ],
  ])("%s", (_what, setup, message) => {
    let thrown: unknown;
    try {
      setup();
    } catch (error) {
      thrown = error;
    }
    expect(isLockError(thrown, "INVALID_ARGUMENT")).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  });
});
