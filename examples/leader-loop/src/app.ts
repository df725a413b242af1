import type { ZkElection } from "@zk-dist-lock/core";
import express from "express";

/**
 * The service's HTTP side, on every instance: `GET /health` says whether this instance leads,
 * `GET /leader` who does (host, pid, label of the leader's node).
 *
 * @example
 * ```ts
 * appFor(election).listen(3000);
 * ```
 */
export function appFor(election: ZkElection): express.Express {
  const app = express();
  app.get("/health", (_req, res) => {
    res.json({
      pid: process.pid,
      state: election.state,
      isLeader: election.isLeader,
      token: election.token?.toString(),
    });
  });
  app.get("/leader", async (_req, res, next) => {
    try {
      const leader = await election.leader();
      res.json(leader ? { ...leader.owner, sessionId: leader.sessionId } : null);
    } catch (error) {
      next(error);
    }
  });
  return app;
}
