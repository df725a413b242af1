// A route whose manager has no ZooKeeper connection answers 503 with Retry-After, not 423: an
// outage is not contention, and load balancers and users must be able to tell them apart.
import { isLockError, ZkLockManager } from "@zk-dist-lock/core";
import { connectZooKeeper, freePorts } from "@zk-dist-lock/testing";
import type { ErrorRequestHandler } from "express";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { distributedLock } from "../src/index.js";
import { serve, uniqueRoot } from "./support.js";

const connect = inject("zkConnect");

describe("a route without a ZooKeeper connection", () => {
  let down: ZkLockManager;
  beforeAll(async () => {
    // A port nothing listens on: ZooKeeper is down.
    const port = (await freePorts(1))[0]!;
    down = ZkLockManager.open(`127.0.0.1:${port}`, { rootDir: uniqueRoot() });
  });
  afterAll(() => down?.close());

  it("answers 503 with Retry-After through Express's default handler", async () => {
    const app = await serve((app) => {
      app.get("/report", distributedLock(down, { key: "report", acquireTimeout: 300 }), (_req, res) => {
        res.sendStatus(204);
      });
    });
    try {
      const response = await fetch(app.url("/report"));
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("5");
    } finally {
      await app.close();
    }
  });

  it("hands the CONNECTION error, with status 503, to an error handler; a closed client's manager too", async () => {
    const client = await connectZooKeeper(connect);
    const closedClient = new ZkLockManager({ rootDir: uniqueRoot() }).init(client);
    client.close();
    const errors: unknown[] = [];
    const app = await serve((app) => {
      app.get("/down", distributedLock(down, { key: "report", acquireTimeout: 300 }), (_req, res) => {
        res.sendStatus(204);
      });
      app.get("/closed", distributedLock(closedClient, { key: "report" }), (_req, res) => {
        res.sendStatus(204);
      });
      const record: ErrorRequestHandler = (error, _req, res, _next) => {
        errors.push(error);
        res.status(error.status).set(error.headers).end();
      };
      app.use(record);
    });
    try {
      for (const path of ["/down", "/closed"]) {
        const response = await fetch(app.url(path));
        expect(response.status, path).toBe(503);
        expect(response.headers.get("retry-after")).toBe("5");
      }
      expect(errors).toHaveLength(2);
      for (const error of errors) {
        expect(isLockError(error, "CONNECTION"), String(error)).toBe(true);
        expect(error).toMatchObject({ status: 503, statusCode: 503 });
      }
      expect((errors[0] as Error).message).toMatch(
        /after 300 ms: no connection to ZooKeeper at 127\.0\.0\.1:\d+/,
      );
      expect((errors[1] as Error).message).toMatch(/the ZooKeeper client was closed.*call init\(\)/);
    } finally {
      await app.close();
      await closedClient.close();
    }
  });
});
