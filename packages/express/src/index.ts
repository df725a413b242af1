/**
 * `@zk-dist-lock/express`: a per-route distributed lock (exclusive or shared) or semaphore on Apache
 * ZooKeeper for Express 5 and 4, using the process's one `ZkLockManager` (the same one a Nest
 * `ZkLockModule` may use).
 *
 * @example
 * ```ts
 * import express from "express";
 * import ZooKeeper from "zookeeper";
 * import { ZkLockManager } from "@zk-dist-lock/core";
 * import { distributedLock, getLock } from "@zk-dist-lock/express";
 *
 * const manager = new ZkLockManager({ acquireTimeout: 2000 });
 * manager.init(new ZooKeeper({ connect: "127.0.0.1:2181", timeout: 5000 }));
 *
 * const app = express();
 * app.post("/invoices/:id/pay", distributedLock<{ id: string }>(manager, { key: (req) => `invoice:${req.params.id}` }),
 *   async (req, res) => {
 *     await invoices.pay(req.params.id, { fence: getLock(res).token });
 *     res.sendStatus(204);
 *   });
 * ```
 */
export { type DistributedLockOptions, distributedLock } from "./distributed-lock.js";
export { type DistributedSemaphoreOptions, distributedSemaphore } from "./distributed-semaphore.js";
export { ClientClosedError, getLock, getPermit, type RouteLock, type RoutePermit } from "./route-lock.js";
export type { OnLocked, RouteHoldOptions } from "./route-middleware.js";
