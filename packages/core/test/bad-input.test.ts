import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  checkLockOptions,
  checkSemaphoreOptions,
  isLockError,
  LockInvalidArgumentError,
  ZkLockManager,
} from "../src/index.js";
import { openManager, uniqueRoot } from "./support/client.js";
import { clientKind } from "./support/kind.js";
import { childrenOf } from "./support/zk.js";

const connect = inject("zkConnect");
let zk: Awaited<ReturnType<typeof openManager>>;
const rootDir = uniqueRoot();
beforeAll(async () => {
  zk = await openManager(connect);
});
afterAll(async () => {
  // Every refusal happened before a request: the root directory was never created.
  expect(await childrenOf(zk.client, "/")).not.toContain(rootDir.slice(1));
  await zk.close();
});

describe("bad input gets a typed error and creates nothing", () => {
  it.each([
    ["an empty resource", () => zk.manager.createLock("", { rootDir })],
    ["a non-string resource", () => zk.manager.createLock(42 as unknown as string, { rootDir })],
    ["a resource over 512 bytes", () => zk.manager.createLock("é".repeat(257), { rootDir })],
    ["a relative rootDir", () => zk.manager.createLock("r", { rootDir: "locks" })],
    ["a rootDir under /zookeeper", () => zk.manager.createLock("r", { rootDir: "/zookeeper/locks" })],
    ["a negative acquireTimeout", () => zk.manager.createLock("r", { rootDir, acquireTimeout: -1 })],
    [
      "a non-numeric acquireTimeout",
      () => zk.manager.createLock("r", { rootDir, acquireTimeout: "2s" as unknown as number }),
    ],
    ["a null rootDir", () => zk.manager.createLock("r", { rootDir: null as unknown as string })],
    ["a null label", () => zk.manager.createLock("r", { rootDir, label: null as unknown as string })],
    ["a null acquireTimeout", () => zk.manager.createLock("r", { rootDir, acquireTimeout: null as never })],
    ["null lock options", () => zk.manager.createLock("r", null as never)],
    ["a manager default that is invalid", () => new ZkLockManager({ rootDir: "/zookeeper" })],
    ["a null manager default rootDir", () => new ZkLockManager({ rootDir: null as unknown as string })],
    ["null manager options", () => new ZkLockManager(null as never)],
    ["a null ACL", () => new ZkLockManager({ acl: null as never })],
    ["an ACL that is not a list of entries", () => new ZkLockManager({ acl: [{ perms: 31 }] as never })],
    ["init() with something that is not a client", () => new ZkLockManager().init({ connect: "x" } as never)],
    ["a lock mode that is not one", () => zk.manager.createLock("r", { rootDir, mode: "read" as never })],
    ["a null lock mode", () => zk.manager.createLock("r", { rootDir, mode: null as never })],
    ["a semaphore without permits", () => zk.manager.createSemaphore("r", { rootDir } as never)],
    ["a semaphore without options", () => zk.manager.createSemaphore("r", undefined as never)],
    ["zero permits", () => zk.manager.createSemaphore("r", { rootDir, permits: 0 })],
    ["negative permits", () => zk.manager.createSemaphore("r", { rootDir, permits: -2 })],
    ["fractional permits", () => zk.manager.createSemaphore("r", { rootDir, permits: 1.5 })],
    [
      "infinite permits",
      () => zk.manager.createSemaphore("r", { rootDir, permits: Number.POSITIVE_INFINITY }),
    ],
    ["permits as a string", () => zk.manager.createSemaphore("r", { rootDir, permits: "3" as never })],
    ["a semaphore with a bad rootDir", () => zk.manager.createSemaphore("r", { rootDir: "x", permits: 2 })],
    ["a bad mode, checked without a manager", () => checkLockOptions({ mode: "write" }, "test options")],
    [
      "a bad acquireTimeout, checked without a manager",
      () => checkLockOptions({ acquireTimeout: -1 }, "test options"),
    ],
    ["bad permits, checked without a manager", () => checkSemaphoreOptions({ permits: 0 }, "test options")],
  ])("synchronously refuses %s", (_, act) => {
    expect(act).toThrow(LockInvalidArgumentError);
    try {
      act();
    } catch (error) {
      expect(error).toMatchObject({ code: "INVALID_ARGUMENT", name: "LockInvalidArgumentError" });
      expect((error as Error).message.length).toBeGreaterThan(20);
    }
  });

  it("refuses bad acquire() options and a withLock without a function, before any request", async () => {
    const lock = zk.manager.createLock("r", { rootDir });
    await expect(lock.acquire({ timeout: -5 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(lock.acquire({ signal: "stop" as never })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      resource: "r",
    });
    for (const options of [null, { signal: null }, { timeout: null }]) {
      await expect(lock.acquire(options as never)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    for (const options of [null, { rootDir: null }, { rootDir, timeout: null }, { rootDir, signal: null }]) {
      await expect(zk.manager.withLock("r", () => {}, options as never)).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
    }
    await expect(zk.manager.withLock("r", "fn" as never, { rootDir })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(zk.manager.withLock("", () => {}, { rootDir })).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
    await expect(
      zk.manager.withLock("r", () => {}, { rootDir, mode: "read" as never }),
    ).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      resource: "r",
    });
    for (const options of [
      undefined,
      null,
      { rootDir },
      { rootDir, permits: 0 },
      { rootDir, permits: 2, timeout: -1 },
    ]) {
      await expect(zk.manager.withSemaphore("r", () => {}, options as never)).rejects.toMatchObject({
        code: "INVALID_ARGUMENT",
      });
    }
    await expect(zk.manager.withSemaphore("r", "fn" as never, { rootDir, permits: 2 })).rejects.toMatchObject(
      {
        code: "INVALID_ARGUMENT",
      },
    );
    expect(() =>
      checkLockOptions({ mode: "shared", rootDir, acquireTimeout: 10 }, "test options"),
    ).not.toThrow();
    expect(() => checkSemaphoreOptions({ permits: 3, rootDir }, "test options")).not.toThrow();
    expect(lock.state).toBe("idle");
  });

  it("refuses use before init() and after close() with NOT_INITIALIZED", async () => {
    const manager = new ZkLockManager();
    expect(() => manager.createLock("r")).toThrow(/Call init\(zkClient\)/);
    await expect(manager.withLock("r", () => {})).rejects.toSatisfy((e) => isLockError(e, "NOT_INITIALIZED"));
    const other = await openManager(connect);
    await other.manager.close();
    expect(() => other.manager.createLock("r", { rootDir })).toThrow(/was closed/);
    other.client.close();
  });

  it("refuses to replace a live client with another one", async () => {
    const other = await openManager(connect);
    expect(() => other.manager.init(zk.client.zk)).toThrow(/still alive/);
    await other.close();
  });
});

describe("options that are not an object, or that the call does not take", () => {
  /** What `call` threw or rejected with, as an INVALID_ARGUMENT error's message. */
  const refusal = async (call: () => unknown): Promise<string> => {
    try {
      await call();
    } catch (error) {
      expect(error, String(error)).toSatisfy((e) => isLockError(e, "INVALID_ARGUMENT"));
      expect(error).toBeInstanceOf(LockInvalidArgumentError);
      return (error as Error).message;
    }
    throw new Error("nothing was refused");
  };
  const election = () => zk.manager.createElection("e", { rootDir });
  // Each call, the name its messages give its options, good options to add a typo to, and the typo.
  const calls: [string, (options: never) => unknown, object, string, string][] = [
    [
      "ZkLockManager.connect() options",
      (o) => ZkLockManager.connect(connect, o),
      { client: clientKind, rootDir },
      "sessionTimout",
      "sessionTimeout",
    ],
    [
      "ZkLockManager.open() options",
      (o) => ZkLockManager.open(connect, o),
      { client: clientKind },
      "conectTimeout",
      "connectTimeout",
    ],
    ["ZkLockManager options", (o) => new ZkLockManager(o), { rootDir }, "lable", "label"],
    [
      "createLock() options",
      (o) => zk.manager.createLock("r", o),
      { rootDir },
      "acquireTimout",
      "acquireTimeout",
    ],
    [
      "createSemaphore() options",
      (o) => zk.manager.createSemaphore("r", o),
      { rootDir, permits: 2 },
      "permit",
      "permits",
    ],
    ["createElection() options", (o) => zk.manager.createElection("e", o), { rootDir }, "rootdir", "rootDir"],
    [
      "createFiringClaims() options",
      (o) => zk.manager.createFiringClaims("j", o),
      { rootDir },
      "retension",
      "retention",
    ],
    ["withLock() options", (o) => zk.manager.withLock("r", () => {}, o), { rootDir }, "timout", "timeout"],
    [
      "withSemaphore() options",
      (o) => zk.manager.withSemaphore("r", () => {}, o),
      { rootDir, permits: 2 },
      "singal",
      "signal",
    ],
    ["current() options", (o) => zk.manager.current("r", o), { rootDir }, "rootDri", "rootDir"],
    ["inspect() options", (o) => zk.manager.inspect("r", o), { rootDir }, "timeOut", "timeout"],
    ["resources() options", (o) => zk.manager.resources(o), { rootDir }, "rootDirs", "rootDir"],
    [
      "waitForConnection() options",
      (o) => zk.manager.waitForConnection(o),
      { timeout: 10 },
      "timeuot",
      "timeout",
    ],
    [
      "acquire() options",
      (o) => zk.manager.createLock("r", { rootDir }).acquire(o),
      { timeout: 0 },
      "timout",
      "timeout",
    ],
    [
      "acquire() options",
      (o) => zk.manager.createSemaphore("r", { rootDir, permits: 2 }).acquire(o),
      { timeout: 0 },
      "signals",
      "signal",
    ],
    ["campaign() options", (o) => election().campaign(o), { timeout: 0 }, "timout", "timeout"],
    ["lead() options", (o) => election().lead(() => {}, o), {}, "sigal", "signal"],
    ["observe() options", (o) => election().observe(o).next(), {}, "signl", "signal"],
  ];

  it.each(calls)("refuses %s that are null, a string or a number, naming them", async (what, call) => {
    for (const [bad, shown] of [
      [null, "null"],
      ["opts", '"opts"'],
      [3, "3"],
    ]) {
      expect(await refusal(() => call(bad as never))).toBe(`${what} must be an object; got ${shown}.`);
    }
  });

  it.each(calls)(
    "refuses %s with a misspelt option, suggesting the option meant",
    async (what, call, good, typo, meant) => {
      expect(await refusal(() => call({ ...good, [typo]: 1000 } as never))).toBe(
        `${what}: unknown option "${typo}"; did you mean "${meant}"?`,
      );
    },
  );

  it("lists the options for a key that is no typo of one, and takes none as no options", async () => {
    expect(await refusal(() => zk.manager.createLock("r", { rootDir, permits: 2 } as never))).toBe(
      'createLock() options: unknown option "permits"; the options are rootDir, acquireTimeout, label, mode.',
    );
    expect(await refusal(() => election().lead(() => {}, { timeout: 5 } as never))).toBe(
      'lead() options: unknown option "timeout"; the options are signal.',
    );
    expect(zk.manager.createLock("r", undefined).state).toBe("idle");
    await expect(zk.manager.waitForConnection(undefined)).resolves.toBeUndefined();
  });
});
