// The ZooKeeper session's life in a Nest app: bootstrap waits for it (or boots without it), an
// outage answers 503, the health indicator tells a readiness check, and an expired session is
// replaced with no action from the app.
import "reflect-metadata";
import { Controller, Get, type INestApplication, Module, Param, UseFilters } from "@nestjs/common";
import { type ConnectionState, isLockError, ZkLockManager } from "@zk-dist-lock/core";
import {
  connectZooKeeper,
  freePorts,
  startZooKeeper,
  waitFor,
  type ZooKeeperServer,
} from "@zk-dist-lock/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import {
  currentLock,
  DistributedLock,
  LockExceptionFilter,
  ZkLockHealthError,
  ZkLockHealthIndicator,
  ZkLockModule,
  type ZkLockModuleOptions,
} from "../src/index.js";
import { createApp, listen, uniqueRoot } from "./helpers.js";

const connect = inject("zkConnect");

@Controller("jobs")
@UseFilters(LockExceptionFilter)
class JobsController {
  @Get(":id")
  @DistributedLock((id: string) => `job:${id}`, { acquireTimeout: 1000 })
  async run(@Param("id") id: string) {
    return { id, token: String(currentLock().token) };
  }
}

function appModule(options: ZkLockModuleOptions) {
  @Module({ imports: [ZkLockModule.forRoot(options)], controllers: [JobsController] })
  class AppModule {}
  return AppModule;
}

describe("ZkLockModule and the ZooKeeper session", () => {
  const apps: INestApplication[] = [];
  const servers: ZooKeeperServer[] = [];
  afterEach(async () => {
    await Promise.allSettled(apps.map((app) => app.close()));
    apps.length = 0;
    await Promise.all(servers.map((server) => server.stop()));
    servers.length = 0;
  });

  it("fails the bootstrap with a CONNECTION error naming the connect string when ZooKeeper is down", async () => {
    const down = `127.0.0.1:${(await freePorts(1))[0]}`; // nobody listens there
    const failure = await createApp(appModule({ connect: down, connectTimeout: 1000 })).then(
      async (app) => {
        await app.close();
        return undefined;
      },
      (error: unknown) => error,
    );
    expect(isLockError(failure, "CONNECTION"), String(failure)).toBe(true);
    expect((failure as Error).message).toMatch(
      new RegExp(`^No ZooKeeper session within 1000 ms: no connection to ZooKeeper at ${down} `),
    );
  });

  it("boots without ZooKeeper when told to, answers 503 with Retry-After meanwhile, then connects by itself", async () => {
    const port = (await freePorts(1))[0]!;
    const app = await createApp(
      appModule({ connect: `127.0.0.1:${port}`, waitForConnection: false, rootDir: uniqueRoot() }),
    );
    apps.push(app);
    const url = await listen(app);
    const health = app.get(ZkLockHealthIndicator);
    let down: unknown;
    try {
      health.isHealthy("zk");
    } catch (error) {
      down = error;
    }
    expect(down).toBeInstanceOf(ZkLockHealthError);
    expect((down as ZkLockHealthError).causes).toEqual({ zk: { status: "down", state: "connecting" } });

    const outage = await fetch(`${url}/jobs/1`);
    expect(outage.status).toBe(503);
    expect(outage.headers.get("retry-after")).toBe("5");
    expect(await outage.json()).toEqual({
      statusCode: 503,
      error: "Service Unavailable",
      message: "The lock service is unavailable; try again later.",
    });

    servers.push(await startZooKeeper({ port }));
    const manager = app.get(ZkLockManager);
    await manager.waitForConnection({ timeout: 30_000 });
    expect(health.isHealthy("zk")).toEqual({
      zk: { status: "up", state: "connected", sessionId: manager.sessionId },
    });
    expect((await fetch(`${url}/jobs/1`)).status).toBe(200);
  });

  it("takes a new session by itself after the session expired, and locked routes work again", async () => {
    const app = await createApp(appModule({ connect, sessionTimeout: 4000, rootDir: uniqueRoot() }));
    apps.push(app);
    const url = await listen(app);
    const manager = app.get(ZkLockManager);
    const states: ConnectionState[] = [];
    manager.on("connectionState", ({ state }) => states.push(state));
    const first = (await (await fetch(`${url}/jobs/2`)).json()) as { token: string };
    const expired = manager.sessionId;
    // connect() makes a client of @zk-dist-lock/client: its password is bytes, the binding's hex.
    const password = (manager.client as unknown as { sessionPassword: Buffer }).sessionPassword;

    // Curator's KillSession: join the session with its id and password, and close it (again, if the
    // app's client won the session back before the close arrived).
    for (let attempt = 1; !states.includes("expired"); attempt++) {
      const intruder = await connectZooKeeper(connect, {
        sessionTimeout: 4000,
        config: { client_id: expired, client_password: password.toString("hex").toUpperCase() },
      });
      intruder.close();
      await waitFor(() => states.includes("expired"), { timeoutMs: 8000 }).catch((error) => {
        if (attempt === 3) throw error;
      });
    }
    await waitFor(() => manager.connectionState === "connected", {
      timeoutMs: 20_000,
      message: "a new session",
    });
    expect(manager.sessionId).not.toBe(expired);
    const response = await fetch(`${url}/jobs/2`);
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    expect(BigInt(token)).toBeGreaterThan(BigInt(first.token));
  });
});
