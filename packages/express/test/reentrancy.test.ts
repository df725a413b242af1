import http from "node:http";
import { describe, expect, it } from "vitest";
import { distributedLock, getLock } from "../src/index.js";
import { expressVersions, serve, sharedManager, uniqueRoot } from "./support.js";

const zk = sharedManager();

describe.each(expressVersions)(
  "%s: distributedLock() shares the hold with the handler's own locking",
  (_version, framework) => {
    it("lets a core withLock on the same resource in the handler join the hold, after async gaps", async () => {
      const rootDir = uniqueRoot();
      const app = await serve(
        (app) =>
          app.get("/x", distributedLock(zk.manager, { key: "shared", rootDir }), async (_req, res) => {
            await new Promise((resolve) => setTimeout(resolve, 1));
            const outer = getLock(res);
            const inner = await zk.manager.withLock(
              "shared",
              async ({ token, lock }) => ({ token: String(token), holdCount: lock.holdCount }),
              { rootDir, acquireTimeout: 1000 },
            );
            const { waiters } = await zk.manager.inspect("shared", { rootDir });
            res.json({ outer: String(outer.token), inner, waiters: waiters.length });
          }),
        framework,
      );
      try {
        const body = (await (await fetch(app.url("/x"))).json()) as {
          outer: string;
          inner: { token: string; holdCount: number };
          waiters: number;
        };
        expect(body.inner).toEqual({ token: body.outer, holdCount: 2 });
        expect(body.waiters).toBe(0);
        await zk.untilFree("shared", rootDir);
        expect(zk.holds("shared", rootDir)).toEqual({ acquired: 1, released: 1 });
      } finally {
        await app.close();
      }
    });

    it("joins two middlewares on the same key instead of waiting for itself", async () => {
      const rootDir = uniqueRoot();
      const lock = distributedLock(zk.manager, { key: "twice", rootDir, acquireTimeout: 1000 });
      const app = await serve(
        (app) =>
          app.get("/x", lock, lock, (_req, res) => {
            res.sendStatus(204);
          }),
        framework,
      );
      try {
        expect((await fetch(app.url("/x"))).status).toBe(204);
        await zk.untilFree("twice", rootDir);
        expect(zk.holds("twice", rootDir)).toEqual({ acquired: 1, released: 1 });
      } finally {
        await app.close();
      }
    });

    it("joins with a body parser before the middleware, even when the body arrives later", async () => {
      const rootDir = uniqueRoot();
      const app = await serve(
        (app) =>
          app.post(
            "/x",
            framework.json(),
            distributedLock(zk.manager, { key: (req) => `order:${req.body.id}`, rootDir }),
            async (req, res) => {
              const token = await zk.manager.withLock(`order:${req.body.id}`, ({ token }) => token, {
                rootDir,
                acquireTimeout: 1000,
              });
              res.json({ same: token === getLock(res).token });
            },
          ),
        framework,
      );
      try {
        const request = http.request({
          host: "127.0.0.1",
          port: app.port,
          path: "/x",
          method: "POST",
          headers: { "content-type": "application/json", "content-length": "10" },
        });
        const response = new Promise<string>((resolve, reject) => {
          request.on("response", (res) => {
            let body = "";
            res.on("data", (chunk) => {
              body += chunk;
            });
            res.on("end", () => resolve(body));
          });
          request.on("error", reject);
        });
        // The body comes in two writes, the second a moment later, so the parser most likely resumes
        // from the socket's callback rather than the middleware's (either way the answer must hold).
        request.write('{"id":');
        await new Promise((resolve) => setTimeout(resolve, 20));
        request.end("7}  ");
        expect(JSON.parse(await response)).toEqual({ same: true });
      } finally {
        await app.close();
      }
    });
  },
);
