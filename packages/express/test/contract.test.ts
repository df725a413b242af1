// The shared lock contract, run through real HTTP requests to routes behind distributedLock() (one
// exclusive, one shared) and distributedSemaphore(), one server per manager on a loopback port, on
// Express 5 and on Express 4.
import { ZkLockManager } from "@zk-dist-lock/core";
import {
  CONTRACT_HOLDS,
  CONTRACT_PERMITS,
  type ContractHold,
  describeLockContract,
  HttpWorks,
  httpAdapter,
} from "@zk-dist-lock/lock-contract";
import type { ErrorRequestHandler, RequestHandler } from "express";
import { distributedLock, distributedSemaphore, getLock, getPermit } from "../src/index.js";
import { type ExpressModule, expressVersions, serve } from "./support.js";

type RunParams = { key: string; id: string };

// Answers what the work threw with its message, so the client side can reject with it.
const answerError: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status(500).json({ error: error instanceof Error ? error.message : String(error) });
};

/** The middleware of each hold, and how the handler finds the hold it took. */
function holding(manager: ZkLockManager, rootDir: string, hold: ContractHold) {
  const key = (req: { params: RunParams }) => req.params.key;
  if (hold === "semaphore") {
    return {
      middleware: distributedSemaphore<RunParams>(manager, { key, rootDir, permits: CONTRACT_PERMITS }),
      held: getPermit,
    };
  }
  return { middleware: distributedLock<RunParams>(manager, { key, rootDir, mode: hold }), held: getLock };
}

async function routeAdapter(framework: ExpressModule, manager: ZkLockManager, rootDir: string) {
  const works = new HttpWorks();
  const app = await serve((app) => {
    for (const hold of CONTRACT_HOLDS) {
      const { middleware, held } = holding(manager, rootDir, hold);
      // Rejections go to next() by hand: Express 4 does not catch them.
      const handler: RequestHandler<RunParams> = (req, res, next) => {
        const work = works.take(req.params.id);
        if (work === undefined) return next(new Error(`No pending work with id ${req.params.id}.`));
        work(held(res).token, res).then((result) => res.json({ result }), next);
      };
      app.post(`/run/${hold}/:key/:id`, middleware, handler);
    }
    app.use(answerError);
  }, framework);
  return httpAdapter(app.url("/run"), works, app.close);
}

for (const [version, framework] of expressVersions) {
  describeLockContract(
    `${version} distributedLock() and distributedSemaphore()`,
    (manager, rootDir) => routeAdapter(framework, manager, rootDir),
    { createManager: () => new ZkLockManager() },
  );
}
