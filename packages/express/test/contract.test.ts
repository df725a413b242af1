// The shared lock contract, run through real HTTP requests to a route behind distributedLock(), one
// Express server per manager on a loopback port.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ZkLockManager } from "@zk-dist-lock/core";
import { describeLockContract } from "@zk-dist-lock/lock-contract";
import express, { type ErrorRequestHandler } from "express";
import { distributedLock, getLock } from "../src/index.js";

/** The works the contract handed to `run()`, by id, until the route's handler takes them. */
type PendingWorks = Map<string, (token: bigint) => Promise<unknown>>;

// Answers what the work threw with its message, so the client side can reject with it.
const answerError: ErrorRequestHandler = (error, _req, res, _next) => {
  res.status(500).json({ error: error instanceof Error ? error.message : String(error) });
};

describeLockContract(
  "Express distributedLock()",
  async (manager, rootDir) => {
    const works: PendingWorks = new Map();
    const app = express();
    app.post(
      "/run/:key/:id",
      distributedLock<{ key: string; id: string }>(manager, { key: (req) => req.params.key, rootDir }),
      async (req, res) => {
        const work = works.get(req.params.id);
        if (work === undefined) throw new Error(`No pending work with id ${req.params.id}.`);
        res.json({ result: await work(getLock(res).token) });
      },
    );
    app.use(answerError);
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      async run<T>(key: string, work: (token: bigint) => Promise<T>): Promise<T> {
        const id = randomUUID();
        works.set(id, work);
        try {
          const url = `http://127.0.0.1:${port}/run/${encodeURIComponent(key)}/${id}`;
          const response = await fetch(url, { method: "POST" });
          const text = await response.text();
          if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text}`);
          return (JSON.parse(text) as { result: T }).result;
        } finally {
          works.delete(id);
        }
      },
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  },
  { createManager: () => new ZkLockManager() },
);
