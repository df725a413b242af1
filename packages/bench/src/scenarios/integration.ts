import "reflect-metadata";
import { EventEmitter } from "node:events";
import { Agent, createServer, request, type Server } from "node:http";
import { Injectable, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import type { ZkLockManager } from "@zk-dist-lock/core";
import { distributedLock, getLock } from "@zk-dist-lock/express";
import { DistributedLock, ZkLockModule } from "@zk-dist-lock/nest";
import express, { type Request, type Response } from "express";
import { connectManager } from "../managers.js";
import { type Timing, timing } from "../stats.js";

/** The U cycle through each integration, beside bare core's `withLock()` on the same manager. */
export interface IntegrationSample {
  /** `manager.withLock(resource, fn)`: what both integrations are built on. */
  core: Timing;
  /** A `@DistributedLock()` provider method, called from a Nest application context. */
  nest: Timing;
  /** The Express middleware called as a function with a minimal request and response (no HTTP). */
  expressMiddleware: Timing;
  /** HTTP requests (keep-alive, one at a time) to an Express route without a lock… */
  httpBare: Timing;
  /** …and to the same route behind `distributedLock()`. */
  httpLocked: Timing;
}

type Cycle = () => Promise<unknown>;

/**
 * Measures the integrations in alternating blocks, so that drift on a shared machine hits each
 * alike. Every path runs on one shared manager and client, as in an application: the default
 * client, @zk-dist-lock/client (an integration's overhead is its own, above core, on either).
 */
export async function measureIntegration(
  connect: string,
  rootDir: string,
  cycles: number,
): Promise<IntegrationSample> {
  const manager = await connectManager(connect, "client", { rootDir });
  const nest = await nestCycle(manager);
  const http = await httpCycles(manager);
  try {
    const paths: Record<keyof IntegrationSample, Cycle> = {
      core: () => manager.withLock("core", () => {}),
      nest: nest.cycle,
      expressMiddleware: middlewareCycle(manager),
      httpBare: http.bare,
      httpLocked: http.locked,
    };
    const samples = Object.fromEntries(Object.keys(paths).map((name) => [name, [] as number[]]));
    const elapsed = Object.fromEntries(Object.keys(paths).map((name) => [name, 0]));
    const warmUp = Math.max(1, Math.round(cycles / 10));
    for (const cycle of Object.values(paths)) for (let i = 0; i < warmUp; i++) await cycle();
    const blocks = Math.min(10, cycles);
    for (let block = 0; block < blocks; block++) {
      for (const [name, cycle] of Object.entries(paths)) {
        const start = performance.now();
        for (let i = 0; i < Math.round(cycles / blocks); i++) {
          const t0 = performance.now();
          await cycle();
          samples[name]!.push(performance.now() - t0);
        }
        elapsed[name]! += performance.now() - start;
      }
    }
    const result = Object.fromEntries(
      Object.keys(paths).map((name) => [name, timing(samples[name]!.length, elapsed[name]!, samples[name]!)]),
    );
    return result as unknown as IntegrationSample;
  } finally {
    await http.close();
    await nest.close();
    await manager.close();
  }
}

async function nestCycle(manager: ZkLockManager) {
  @Injectable()
  class Job {
    @DistributedLock("nest")
    async run(): Promise<void> {}
  }
  @Module({ imports: [ZkLockModule.forRoot({ manager })], providers: [Job] })
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: false });
  const job = app.get(Job);
  return { cycle: () => job.run(), close: () => app.close() };
}

/**
 * The middleware alone: called with a request and a response that are just enough for it, and
 * "finished" as soon as the route is reached. `release()` resolves once the node is deleted.
 */
function middlewareCycle(manager: ZkLockManager): Cycle {
  const middleware = distributedLock(manager, { key: "express" });
  return async () => {
    const res = Object.assign(new EventEmitter(), { locals: {}, writableFinished: false, destroyed: false });
    const req = { params: {} };
    await new Promise<void>((next, fail) =>
      middleware(req as unknown as Request, res as unknown as Response, (error?: unknown) =>
        error ? fail(error) : next(),
      ),
    );
    res.emit("finish");
    await getLock(res as unknown as Response).release();
  };
}

/** A real Express app on loopback, and a keep-alive client that sends one request at a time. */
async function httpCycles(manager: ZkLockManager) {
  const app = express();
  app.get("/bare", (_req, res) => {
    res.end();
  });
  app.get("/locked", distributedLock(manager, { key: "http" }), (_req, res) => {
    res.end();
  });
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string) =>
    new Promise<void>((resolve, reject) => {
      request({ host: "127.0.0.1", port, path, agent }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode}`));
        res.resume().on("end", resolve);
      })
        .on("error", reject)
        .end();
    });
  return {
    bare: () => get("/bare"),
    locked: () => get("/locked"),
    close: async () => {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
