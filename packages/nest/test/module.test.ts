import { Controller, Get, Inject, Injectable, Module } from "@nestjs/common";
import { digestAcl, digestAuth, LockInvalidArgumentError, Perms, ZkLockManager } from "@zk-dist-lock/core";
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import ZooKeeper from "zookeeper";
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

/** A node's ACL as the server keeps it, read with a client that has no authentication. */
const aclOf = (client: ZooKeeper, path: string) =>
  new Promise<{ perms: number; scheme: string; auth: string }[]>((resolve, reject) =>
    client.a_get_acl(path, (rc, error, acl) =>
      rc === 0
        ? resolve(
            (acl as { perms: number; scheme: string; auth: string }[]).map(({ perms, scheme, auth }) => ({
              perms,
              scheme,
              auth,
            })),
          )
        : reject(new Error(`get_acl ${path}: ${error} (${rc})`)),
    ),
  );

/** The application's failure to boot, or undefined when it booted (and was closed again). */
const bootFailure = (module: Parameters<typeof createApp>[0]) =>
  createApp(module).then(
    async (app) => {
      await app.close();
      return undefined;
    },
    (error: unknown) => error as Error,
  );

// A client of the test's own, without authentication: the module tests' observer, and the client
// given to the module in the shutdown tests.
let shared: ZooKeeper;
beforeAll(async () => {
  shared = await connectClient(connect);
});
afterAll(() => {
  shared?.close();
});

describe("ZkLockModule passes every option of ZkLockManager.connect() through", () => {
  it("authenticates with digest auth and sets the ACL of the directories it creates (forRootAsync)", async () => {
    const rootDir = uniqueRoot();
    const acl = [digestAcl("locker", "s3cret"), { perms: Perms.READ, scheme: "world", auth: "anyone" }];
    @Module({
      imports: [
        ZkLockModule.forRootAsync({
          useFactory: async (): Promise<ZkLockModuleOptions> => ({
            connect,
            rootDir,
            auth: [digestAuth("locker", "s3cret")],
            acl,
          }),
        }),
      ],
      providers: [LockedService],
    })
    class AppModule {}
    const app = await createApp(AppModule);
    try {
      await app.get(LockedService).work();
      // The server shows a digest only to a client that may administer the node.
      const admin = await connectClient(connect);
      try {
        await new Promise<void>((resolve) => admin.add_auth("digest", "locker:s3cret", () => resolve()));
        for (const path of [rootDir, `${rootDir}/shared`]) expect(await aclOf(admin, path)).toEqual(acl);
      } finally {
        admin.close();
      }
      // Only the digest may change the lock directory: a client without it cannot queue there.
      const NOAUTH = -102;
      const rc = await new Promise<number>((resolve) =>
        shared.a_create(`${rootDir}/shared/intruder`, "", 0, (code) => resolve(code)),
      );
      expect(rc).toBe(NOAUTH);
    } finally {
      await app.close();
    }
  });

  it("gives a client of yours the manager's acl and auth (forRoot with client)", async () => {
    const rootDir = uniqueRoot();
    const acl = [
      { perms: Perms.ALL, scheme: "world", auth: "anyone" },
      digestAcl("locker", "s3cret", Perms.READ),
    ];
    const client = await connectClient(connect);
    @Module({ imports: [ZkLockModule.forRoot({ client, rootDir, acl })], providers: [LockedService] })
    class AppModule {}
    const app = await createApp(AppModule);
    try {
      await app.get(LockedService).work();
      expect(await aclOf(shared, rootDir)).toEqual(acl);
    } finally {
      await app.close();
      client.close();
    }
  });

  it('runs on the npm binding with client: "zookeeper"', async () => {
    @Module({ imports: [ZkLockModule.forRoot({ connect, client: "zookeeper", rootDir: uniqueRoot() })] })
    class AppModule {}
    const app = await createApp(AppModule);
    try {
      expect(app.get(ZkLockManager).client).toBeInstanceOf(ZooKeeper);
      expect(await app.get(ZkLockManager).withLock("binding", () => "held")).toBe("held");
    } finally {
      await app.close();
    }
  });

  it("takes an option given as undefined as not given, from forRootAsync's factory too", async () => {
    const client = await connectClient(connect);
    try {
      // What a factory that picks between a client and a connect string returns.
      for (const options of [
        { client, connect: undefined, waitForConnection: undefined },
        { connect, manager: undefined, client: undefined, clock: undefined },
      ]) {
        @Module({
          imports: [ZkLockModule.forRootAsync({ useFactory: () => options as ZkLockModuleOptions })],
        })
        class AppModule {}
        const app = await createApp(AppModule);
        try {
          expect(await app.get(ZkLockManager).withLock("undefined-options", () => "held")).toBe("held");
        } finally {
          await app.close();
        }
      }
    } finally {
      client.close();
    }
  });

  // The module passes names it does not know to core, which refuses what its call does not take.
  it("refuses at bootstrap an option that no way of connecting takes, from forRootAsync's factory too", async () => {
    for (const options of [
      { connect, sesionTimeout: 5000 },
      { connect, waitForConnection: false, autoReconnect: true },
    ]) {
      @Module({
        imports: [ZkLockModule.forRootAsync({ useFactory: () => options as ZkLockModuleOptions })],
      })
      class AppModule {}
      const failure = await bootFailure(AppModule);
      expect(failure, JSON.stringify(options)).toBeInstanceOf(LockInvalidArgumentError);
      expect(failure?.message).toMatch(/^ZkLockModule options: .*(sesionTimeout|autoReconnect)/);
    }
  });

  it("refuses how to connect beside a given manager, which was connected already", async () => {
    const manager = new ZkLockManager();
    for (const extra of [{ auth: [digestAuth("locker", "s3cret")] }, { tls: {} }, { sessionTimeout: 5000 }]) {
      @Module({
        imports: [
          ZkLockModule.forRootAsync({
            useFactory: () => ({ manager, ...extra }) as unknown as ZkLockModuleOptions,
          }),
        ],
      })
      class AppModule {}
      const failure = await bootFailure(AppModule);
      expect(failure).toBeInstanceOf(LockInvalidArgumentError);
      expect(failure?.message).toContain(`${Object.keys(extra)[0]} cannot be given with manager`);
    }
  });

  it("refuses a client kind without a connect string", async () => {
    @Module({ imports: [ZkLockModule.forRoot({ client: "zookeeper" } as never)] })
    class AppModule {}
    const failure = await bootFailure(AppModule);
    expect(failure).toBeInstanceOf(LockInvalidArgumentError);
    expect(failure?.message).toContain('client "zookeeper" names the kind of client that connect creates');
  });
});

describe("ZkLockModule at shutdown", () => {
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
      const failure = await bootFailure(module);
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
