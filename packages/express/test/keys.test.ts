import {
  encodeResource,
  isLockError,
  LockInvalidArgumentError,
  type ZkLockManager,
} from "@zk-dist-lock/core";
import type { ErrorRequestHandler, Request } from "express";
import { describe, expect, inject, it } from "vitest";
import { distributedLock, distributedSemaphore, getLock } from "../src/index.js";
import { expressVersions, openManager, rawGet, serve, sharedManager, uniqueRoot } from "./support.js";

const connect = inject("zkConnect");
const zk = sharedManager();

describe.each(expressVersions)(
  "%s: distributedLock() keys built from request data",
  (_version, framework) => {
    it("encodes crafted parameters into one znode name directly under rootDir", async () => {
      const rootDir = uniqueRoot();
      const app = await serve(
        (app) =>
          app.get(
            "/files/:name",
            distributedLock(zk.manager, { key: (req) => `file:${req.params.name}`, rootDir }),
            async (_req, res) => {
              const { resource } = getLock(res);
              const { path, holder } = await zk.manager.inspect(resource, { rootDir });
              res.json({ resource, path, held: holder !== undefined });
            },
          ),
        framework,
      );
      try {
        const crafted = {
          "..%2F..%2Fzookeeper": "file:../../zookeeper",
          "a%2Fb": "file:a/b",
          "%252F": "file:%2F",
          "..": "file:..",
        };
        for (const [param, resource] of Object.entries(crafted)) {
          // A raw request: fetch() would normalize ".." segments away before sending.
          const response = await rawGet(app.port, `/files/${param}`).response;
          if (typeof response === "string") throw new Error(`the request for ${param} was ${response}`);
          const body = JSON.parse(response.body);
          expect(body).toEqual({ resource, path: `${rootDir}/${encodeResource(resource)}`, held: true });
          expect(body.path.slice(rootDir.length + 1)).not.toContain("/");
        }
        // Each distinct key got its own directory: "a/b" and "%2F" did not collide with anything.
        expect((await zk.manager.resources({ rootDir })).sort()).toEqual(Object.values(crafted).sort());
      } finally {
        await app.close();
      }
    });

    it("labels the route's nodes with its label, for a lock and a semaphore", async () => {
      const rootDir = uniqueRoot();
      const ownerLabel = async (resource: string) =>
        (await zk.manager.inspect(resource, { rootDir })).holder?.owner?.label;
      const app = await serve(
        (app) =>
          app
            .get(
              "/lock",
              distributedLock(zk.manager, { key: "l", rootDir, label: "pay-route" }),
              async (_req, res) => {
                res.json(await ownerLabel("l"));
              },
            )
            .get(
              "/permit",
              distributedSemaphore(zk.manager, { key: "s", rootDir, permits: 2, label: "geo-route" }),
              async (_req, res) => {
                res.json(await ownerLabel("s"));
              },
            ),
        framework,
      );
      try {
        expect(await (await fetch(`http://127.0.0.1:${app.port}/lock`)).json()).toBe("pay-route");
        expect(await (await fetch(`http://127.0.0.1:${app.port}/permit`)).json()).toBe("geo-route");
      } finally {
        await app.close();
      }
    });

    it("answers 400 for an empty, missing, repeated or over-long key and creates nothing, for a semaphore too", async () => {
      const rootDir = uniqueRoot();
      const errors: unknown[] = [];
      let ran = 0;
      const app = await serve((app) => {
        const key = (req: Request) => req.query.k as string;
        // The Nest decorators answer the same (packages/nest/test/http.test.ts).
        for (const [path, holder] of [
          ["/q", distributedLock(zk.manager, { key, rootDir })],
          ["/s", distributedSemaphore(zk.manager, { key, permits: 2, rootDir })],
        ] as const) {
          app.get(path, holder, (_req, res) => {
            ran++;
            res.sendStatus(204);
          });
        }
        const record: ErrorRequestHandler = (error, _req, _res, next) => {
          errors.push(error);
          next(error);
        };
        app.use(record);
      }, framework);
      try {
        for (const path of ["/q", "/s"]) {
          for (const query of ["k=", "", "k=a&k=b", `k=${"x".repeat(513)}`]) {
            expect((await fetch(app.url(`${path}?${query}`))).status, `${path}?${query}`).toBe(400);
          }
        }
        expect(ran).toBe(0);
        expect(errors).toHaveLength(8);
        for (const error of errors) {
          expect(error).toBeInstanceOf(LockInvalidArgumentError);
          expect(error).toMatchObject({ status: 400, statusCode: 400 });
        }
        expect(await zk.manager.resources({ rootDir })).toEqual([]);
      } finally {
        await app.close();
      }
    });

    it("passes an error thrown by the key function to next(err) unchanged", async () => {
      const rootDir = uniqueRoot();
      const app = await serve(
        (app) =>
          app.get(
            "/x",
            distributedLock(zk.manager, {
              key: () => {
                throw Object.assign(new Error("no such tenant"), { status: 404 });
              },
              rootDir,
            }),
            (_req, res) => {
              res.sendStatus(204);
            },
          ),
        framework,
      );
      try {
        expect((await fetch(app.url("/x"))).status).toBe(404);
        expect(await zk.manager.resources({ rootDir })).toEqual([]);
      } finally {
        await app.close();
      }
    });

    it("uses the manager's rootDir and acquireTimeout when the middleware sets none", async () => {
      const rootDir = uniqueRoot();
      const own = await openManager(connect, { rootDir });
      const app = await serve(
        (app) =>
          app.get("/x", distributedLock(own.manager, { key: "defaults" }), async (_req, res) => {
            res.json((await own.manager.inspect("defaults")).path);
          }),
        framework,
      );
      try {
        expect(await (await fetch(app.url("/x"))).json()).toBe(`${rootDir}/defaults`);
      } finally {
        await app.close();
        await own.close();
      }
    });
  },
);

describe("distributedLock() refuses bad setup when the route is defined", () => {
  const manager = () => zk.manager;
  it.each([
    ["an empty static key", () => distributedLock(manager(), { key: "" })],
    ["a key that is neither string nor function", () => distributedLock(manager(), { key: 5 as never })],
    ["a relative rootDir", () => distributedLock(manager(), { key: "k", rootDir: "locks" })],
    ["a rootDir under /zookeeper", () => distributedLock(manager(), { key: "k", rootDir: "/zookeeper/x" })],
    ["a negative acquireTimeout", () => distributedLock(manager(), { key: "k", acquireTimeout: -1 })],
    [
      "an onLocked that is not a function",
      () => distributedLock(manager(), { key: "k", onLocked: 1 as never }),
    ],
    ["a maxHold of 0", () => distributedLock(manager(), { key: "k", maxHold: 0 })],
    [
      "a maxHold that is not a number",
      () => distributedLock(manager(), { key: "k", maxHold: "1s" as never }),
    ],
    [
      "a maxHold beyond what a timer can wait",
      () => distributedLock(manager(), { key: "k", maxHold: 2 ** 31 }),
    ],
    ["a misspelt option", () => distributedLock(manager(), { key: "k", acquireTimout: 100 } as never)],
    ["an option of a semaphore's", () => distributedLock(manager(), { key: "k", permits: 2 } as never)],
    ["missing options", () => distributedLock(manager(), undefined as never)],
    ["something other than a manager", () => distributedLock({} as ZkLockManager, { key: "k" })],
  ])("%s", (_what, setup) => {
    let thrown: unknown;
    try {
      setup();
    } catch (error) {
      thrown = error;
    }
    expect(isLockError(thrown, "INVALID_ARGUMENT")).toBe(true);
  });
});
