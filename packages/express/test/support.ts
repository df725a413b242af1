// Test helpers: a manager on a real ZooKeeper session, an Express app on a loopback port, gates that
// hold a handler where a test wants it, and raw HTTP requests a test can cut off mid-flight.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { type LockEvent, ZkLockManager, type ZkLockManagerOptions } from "@zk-dist-lock/core";
import { connectZooKeeper, waitFor } from "@zk-dist-lock/testing";
import express, { type Express } from "express";

/** A manager bound to a fresh connected session, with counts of its hold events per resource. */
export async function openManager(connect: string, options?: ZkLockManagerOptions) {
  const client = await connectZooKeeper(connect);
  const manager = new ZkLockManager(options).init(client);
  const counts = { acquired: new Map<string, number>(), released: new Map<string, number>() };
  const count = (event: keyof typeof counts) => (e: LockEvent) => {
    counts[event].set(e.resource, (counts[event].get(e.resource) ?? 0) + 1);
  };
  manager.on("acquired", count("acquired"));
  manager.on("released", count("released"));
  return {
    manager,
    /** How many holds of `resource` started and ended. */
    holds: (resource: string) => ({
      acquired: counts.acquired.get(resource) ?? 0,
      released: counts.released.get(resource) ?? 0,
    }),
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
      client.close();
    },
  };
}

export type TestManager = Awaited<ReturnType<typeof openManager>>;

/** A root directory no other test uses. */
export const uniqueRoot = () => `/express-test-${randomUUID().slice(0, 8)}`;

/** An Express app set up by `configure`, listening on 127.0.0.1 at a free port. */
export async function serve(configure: (app: Express) => void) {
  const app = express();
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
 * cut the connection (as closing the test server does).
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
