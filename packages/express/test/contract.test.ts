// The shared lock contract, run through real HTTP requests to a route behind distributedLock(), one
// server per manager on a loopback port, on Express 5 and on Express 4.
import { ZkLockManager } from "@zk-dist-lock/core";
import { describeLockContract, HttpWorks, httpAdapter } from "@zk-dist-lock/lock-contract";
import type { ErrorRequestHandler } from "express";
import { distributedLock, getLock } from "../src/index.js";
import { type ExpressModule, expressVersions, serve } from "./support.js";

// Answers what the work threw with its message, so the client side can reject with it.
const answerError: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status(500).json({ error: error instanceof Error ? error.message : String(error) });
};

async function routeAdapter(framework: ExpressModule, manager: ZkLockManager, rootDir: string) {
  const works = new HttpWorks();
  const app = await serve((app) => {
    app.post(
      "/run/:key/:id",
      distributedLock<{ key: string; id: string }>(manager, { key: (req) => req.params.key, rootDir }),
      // Rejections go to next() by hand: Express 4 does not catch them.
      (req, res, next) => {
        const work = works.take(req.params.id);
        if (work === undefined) return next(new Error(`No pending work with id ${req.params.id}.`));
        work(getLock(res).token, res).then((result) => res.json({ result }), next);
      },
    );
    app.use(answerError);
  }, framework);
  return httpAdapter(app.url("/run"), works, app.close);
}

for (const [version, framework] of expressVersions) {
  describeLockContract(
    `${version} distributedLock()`,
    (manager, rootDir) => routeAdapter(framework, manager, rootDir),
    { createManager: () => new ZkLockManager() },
  );
}
