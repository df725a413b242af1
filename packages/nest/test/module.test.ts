import { Controller, Get, Inject, Injectable, Module } from "@nestjs/common";
import { LockInvalidArgumentError, ZkLockManager } from "@zk-dist-lock/core";
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type ZooKeeper from "zookeeper";
import {
  currentLock,
  DistributedLock,
  InjectLockManager,
  ZK_LOCK_MODULE_OPTIONS,
  ZkLockModule,
  type ZkLockModuleOptions,
} from "../src/index.js";
import { connectClient, createApp, uniqueRoot } from "./helpers.js";

const connect = inject("zkConnect");
const CONNECTED = 3;

@Injectable()
class LockedService {
  constructor(@InjectLockManager() readonly manager: ZkLockManager) {}

  @DistributedLock("shared")
  async work() {
    const { lock } = currentLock();
    return { token: currentLock().token, path: lock.path };
  }
}

/** Uses the lock only through the decorator, so the module is its only link to ZooKeeper. */
@Injectable()
class BareService {
  @DistributedLock("bare")
  async work() {}
}

/** An existence check straight on the client: resolves with ZooKeeper's result code. */
const exists = (client: ZooKeeper, path: string) =>
  new Promise<number>((resolve) => client.a_exists(path, false, (rc) => resolve(rc)));

describe("ZkLockModule.forRootAsync", () => {
  it("builds its options from an injected config provider", async () => {
    const rootDir = uniqueRoot();
    @Injectable()
    class LockConfig {
      readonly connect = connect;
      readonly rootDir = rootDir;
    }
    @Module({ providers: [LockConfig], exports: [LockConfig] })
    class ConfigModule {}
    @Module({
      imports: [
        ZkLockModule.forRootAsync({
          imports: [ConfigModule],
          inject: [LockConfig],
          useFactory: async (config: LockConfig): Promise<ZkLockModuleOptions> => ({
            connect: config.connect,
            rootDir: config.rootDir,
          }),
        }),
      ],
      providers: [LockedService],
    })
    class AppModule {}
    const app = await createApp(AppModule);
    try {
      const service = app.get(LockedService);
      expect(app.get(ZkLockManager)).toBe(service.manager);
      expect(app.get(ZK_LOCK_MODULE_OPTIONS)).toEqual({ connect, rootDir });
      const { path } = await service.work();
      expect(path.startsWith(`${rootDir}/`)).toBe(true);
      expect(await service.manager.resources({ rootDir })).toEqual(["shared"]);
    } finally {
      await app.close();
    }
  });
});

describe("ZkLockModule at shutdown", () => {
  let shared: ZooKeeper;
  beforeAll(async () => {
    shared = await connectClient(connect);
  });
  afterAll(() => {
    shared?.close();
  });

  it("closes the client and manager it created from a connect string", async () => {
    @Module({
      imports: [ZkLockModule.forRoot({ connect, rootDir: uniqueRoot() })],
      providers: [LockedService],
    })
    class AppModule {}
    const app = await createApp(AppModule);
    const manager = app.get(ZkLockManager);
    await app.get(LockedService).work();
    // The module's connect() makes a client of @zk-dist-lock/client.
    const client = manager.client as unknown as { state: string };
    expect(client.state).toBe("connected");
    await app.close();
    expect(() => manager.client).toThrowError(expect.objectContaining({ code: "NOT_INITIALIZED" }));
    await waitFor(() => client.state === "closed", { message: "the owned client to close" });
  });

  it("closes the manager it created for a given client, and leaves the client open", async () => {
    @Module({
      imports: [ZkLockModule.forRoot({ client: shared, rootDir: uniqueRoot() })],
      providers: [LockedService],
    })
    class AppModule {}
    const app = await createApp(AppModule);
    const manager = app.get(ZkLockManager);
    await app.get(LockedService).work();
    await app.close();
    expect(() => manager.client).toThrowError(expect.objectContaining({ code: "NOT_INITIALIZED" }));
    expect(shared.state).toBe(CONNECTED);
    expect(await exists(shared, "/")).toBe(0);
  });

  it("leaves a given manager and its client open, and shares its holds with code outside Nest", async () => {
    const rootDir = uniqueRoot();
    const manager = new ZkLockManager({ rootDir }).init(shared);
    @Module({ imports: [ZkLockModule.forRoot({ manager })], providers: [LockedService] })
    class AppModule {}
    const app = await createApp(AppModule);
    const service = app.get(LockedService);
    expect(service.manager).toBe(manager);
    // A hold taken outside Nest (as the Express middleware does) is joined by the decorated method
    // in the same call chain.
    const joined = await manager.withLock("shared", async ({ token }) => {
      const inside = await service.work();
      return inside.token === token;
    });
    expect(joined).toBe(true);
    await app.close();
    expect(manager.client).toBe(shared);
    expect(await manager.withLock("after-close", ({ token }) => typeof token)).toBe("bigint");
    await manager.close();
    expect(shared.state).toBe(CONNECTED);
  });
});

describe("ZkLockModule options", () => {
  it.each([
    ["none of client, connect, manager", { rootDir: "/x" }],
    ["two of them", { connect, manager: new ZkLockManager() }],
    ["an empty connect string", { connect: " " }],
    ["a bad session timeout", { connect, sessionTimeout: -1 }],
    ["a manager that is not a ZkLockManager", { manager: {} }],
    ["a bad rootDir default", { connect, rootDir: "locks" }],
    ["a bad acquireTimeout default", { connect, acquireTimeout: -5 }],
    ["a bad rootDir default beside a given manager", { manager: new ZkLockManager(), rootDir: "locks" }],
  ])("fail at bootstrap with a typed error for %s", async (_, options) => {
    @Module({ imports: [ZkLockModule.forRoot(options as ZkLockModuleOptions)] })
    class AppModule {}
    await expect(createApp(AppModule)).rejects.toBeInstanceOf(LockInvalidArgumentError);
  });
});

describe("@DistributedLock() without ZkLockModule", () => {
  it("fails at bootstrap, for services and controllers, saying to import ZkLockModule", async () => {
    @Module({ providers: [BareService] })
    class NoLockModuleForService {}
    @Controller("x")
    class LockedController {
      @Get()
      @DistributedLock("x")
      async get() {}
    }
    @Module({ controllers: [LockedController] })
    class NoLockModuleForController {}
    for (const module of [NoLockModuleForService, NoLockModuleForController]) {
      const failure = await createApp(module).then(
        async (app) => {
          await app.close();
          return undefined;
        },
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ name: "LockError", code: "NOT_INITIALIZED" });
      expect((failure as Error).message).toMatch(/needs ZkLockModule: add ZkLockModule\.forRoot/);
    }
  });

  it("fails when the module is registered with isGlobal: false in another module only", async () => {
    // A manager that is never bound: bootstrap fails before anything would use it.
    @Module({ imports: [ZkLockModule.forRoot({ manager: new ZkLockManager(), isGlobal: false })] })
    class LocksModule {}
    @Module({ providers: [BareService] })
    class FeatureModule {}
    @Module({ imports: [LocksModule, FeatureModule] })
    class AppModule {}
    await expect(createApp(AppModule)).rejects.toThrow(
      /BareService uses @DistributedLock\(\), which needs ZkLockModule/,
    );
  });

  it("fails at the call, clearly, for an instance Nest did not create", async () => {
    @Injectable()
    class Plain {
      constructor(@Inject("unused") readonly unused?: unknown) {}
      @DistributedLock("plain")
      async run() {}
    }
    await expect(new Plain().run()).rejects.toMatchObject({
      code: "NOT_INITIALIZED",
      message: expect.stringContaining("Plain.run is decorated with @DistributedLock()"),
    });
  });
});
