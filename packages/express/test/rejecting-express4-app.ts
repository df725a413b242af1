// Usage: node --import tsx --conditions=@zk-dist-lock/source rejecting-express4-app.ts <connect> <rootDir>
// An Express 4 app whose async handler behind distributedLock() rejects, with no guard; it prints
// its port once it listens, and "acquired" when the handler holds the lock.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ZkLockManager } from "@zk-dist-lock/core";
import { connectZooKeeper } from "@zk-dist-lock/testing";
import express4 from "express4";
import { distributedLock } from "../src/index.js";

const [connect, rootDir] = process.argv.slice(2) as [string, string];
// A short session timeout: the lock of a crashed process comes free only when its session expires.
const client = await connectZooKeeper(connect, { sessionTimeout: 2000 });
const manager = new ZkLockManager({ rootDir }).init(client);
const app = express4();
app.get("/pay", distributedLock(manager, { key: "crash" }), async () => {
  process.stdout.write("acquired\n");
  await new Promise((resolve) => setTimeout(resolve, 10));
  throw new Error("payment failed in an unguarded async handler");
});
const server = http.createServer(app);
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`);
});
