// Test helpers: a manager on a real ZooKeeper session, an Express 5 or 4 app on a loopback port,
// gates that hold a handler where a test wants it, and raw HTTP requests a test can cut off
// mid-flight.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { encodeResource, ZkLockManager, type ZkLockManagerOptions } from "@zk-dist-lock/core";
import { connectZooKeeper, waitFor } from "@zk-dist-lock/testing";
import express, { type Express } from "express";
import express4 from "express4";
import { afterAll, beforeAll, inject } from "vitest";
import type ZooKeeper from "zookeeper";

/** The default export of Express: it makes applications and carries the body parsers. */
export type ExpressModule = typeof express;

const { version: express4Version } = createRequire(import.meta.url)("express4/package.json") as {
  version: string;
};

/**
 * Express 5 (`express`) and Express 4 (the `express4` alias), named by the version that loaded,
 * for `describe.each`: the middleware must behave the same on both.
 */
export const expressVersions: [name: string, express: ExpressModule][] = [
  ["Express 5", express],
  [`Express ${express4Version.split(".")[0]}`, express4],
];

/** A manager bound to a fresh connected session, with the paths of its hold events. */
export async function openManager(connect: string, options?: ZkLockManagerOptions): Promise<TestManager> {
  const client = await connectZooKeeper(connect);
  return tracked(new ZkLockManager(options).init(client), () => client.close());
}

/**
 * The manager a test file's tests share, on the test run's ZooKeeper: its session opens before the
 * file's first test and closes after its last. Call it at the top of the file; `manager` exists at
 * once (so a `describe` body can name it), the session only inside tests.
 */
export function sharedManager(options?: ZkLockManagerOptions): TestManager {
  let client: ZooKeeper | undefined;
  const shared = tracked(new ZkLockManager(options), () => client?.close());
  beforeAll(async () => {
    client = await connectZooKeeper(inject("zkConnect"));
    shared.manager.init(client);
  });
  afterAll(() => shared.close());
  return shared;
}

function tracked(manager: ZkLockManager, closeClient: () => void) {
  const paths = { acquired: [] as string[], released: [] as string[] };
  manager.on("acquired", (e) => paths.acquired.push(e.path));
  manager.on("released", (e) => paths.released.push(e.path));
  return {
    manager,
    /** How many holds of `resource` under `rootDir` started and ended. */
    holds: (resource: string, rootDir: string) => {
      // An event names the lock node, or the resource's directory when the node is gone.
      const directory = `${rootDir}/${encodeResource(resource)}`;
      const count = (list: string[]) =>
        list.filter((path) => path === directory || path.startsWith(`${directory}/`)).length;
      return { acquired: count(paths.acquired), released: count(paths.released) };
    },
    /** Resolves once nobody holds or waits for `resource` in ZooKeeper. */
    async untilFree(resource: string, rootDir: string) {
      await waitFor(
        async () => {
          const { holder, waiters } = await manager.inspect(resource, { rootDir });
          return holder === undefined && waiters.length === 0;
        },
        { timeoutMs: 10_000, message: `the lock on ${resource} to be free` },
      );
    },
    async close() {
      await manager.close();
      closeClient();
    },
  };
}

/** A manager of a test, with what it saw of its holds. */
export type TestManager = ReturnType<typeof tracked>;

/** A root directory no other test uses. */
export const uniqueRoot = () => `/express-test-${randomUUID().slice(0, 8)}`;

/** An Express app (Express 5 unless told) set up by `configure`, listening on 127.0.0.1 at a free port. */
export async function serve(configure: (app: Express) => void, framework: ExpressModule = express) {
  const app = framework();
  configure(app);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A promise a test opens when it chooses; `opened` resolves when it did. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

/**
 * A GET on its own connection, which `abort()` cuts off as a client that goes away does. `response`
 * resolves with the status and body, with "aborted" after `abort()`, or with "reset" when the server
 * cut the connection, before or during the body (as closing the test server does).
 */
export function rawGet(port: number, path: string) {
  const request = http.request({ host: "127.0.0.1", port, path, agent: false });
  let aborted = false;
  const response = new Promise<{ status: number; body: string } | "aborted" | "reset">((resolve) => {
    request.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      // Cut off in the middle of the body.
      res.on("error", () => resolve(aborted ? "aborted" : "reset"));
    });
    request.on("error", () => resolve(aborted ? "aborted" : "reset"));
  });
  request.end();
  return {
    response,
    abort: () => {
      aborted = true;
      request.destroy();
    },
  };
}
