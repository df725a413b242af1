// A manager that owns its client (ZkLockManager.connect / open), and misconfiguration that fails
// fast: a bad connect string, an unreachable server, a missing chroot, a client that cannot start.
import { ZooKeeperClient } from "@zk-dist-lock/client";
import {
  fourLetter,
  freePorts,
  type StartZooKeeperOptions,
  startZooKeeper,
  waitFor,
  type ZooKeeperServer,
} from "@zk-dist-lock/testing";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from "vitest";
import ZooKeeper from "zookeeper";
import { type ConnectionStateChange, isLockError, type LockError, ZkLockManager } from "../src/index.js";
import { replaceBindingImport } from "../src/session/native-client.js";
import { onBinding } from "./support/kind.js";
import {
  childrenOf,
  closeClients,
  connectClient,
  connectManager,
  exists,
  openManagerOwning,
  refusingPort,
  requestsReceived,
  type TestClient,
  uniqueRoot,
  unstartedClient,
} from "./support/zk.js";

const connect = inject("zkConnect");

/** What a promise rejected with (failing the test if it resolved). */
const failure = (promise: Promise<unknown>) =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error as LockError,
  );

/** What `fn` threw, or undefined. */
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

/** The managers a describe block's tests open, closed after each test. */
function closedAfterEach(): ZkLockManager[] {
  const managers: ZkLockManager[] = [];
  afterEach(async () => {
    await Promise.allSettled(managers.map((manager) => manager.close()));
    managers.length = 0;
  });
  return managers;
}

/** A server of the describe block's own, handed to `started` before its tests and stopped after them. */
function serverOfItsOwn(options: StartZooKeeperOptions, started: (server: ZooKeeperServer) => void): void {
  let server: ZooKeeperServer | undefined;
  beforeAll(async () => {
    server = await startZooKeeper(options);
    started(server);
  });
  afterAll(async () => {
    closeClients();
    await server?.stop();
  });
}

describe("connectManager()", () => {
  const managers = closedAfterEach();
  let observer: TestClient;

  beforeAll(async () => {
    observer = await connectClient(connect);
  });
  afterAll(closeClients);

  it("resolves once connected, locks, and close() releases the holds and ends the session", async () => {
    const rootDir = uniqueRoot("connect");
    const changes: ConnectionStateChange[] = [];
    const manager = await connectManager(connect, {
      sessionTimeout: 5000,
      rootDir,
      acquireTimeout: 2000,
    });
    managers.push(manager);
    manager.on("connectionState", (change) => changes.push(change));
    expect(manager.connectionState).toBe("connected");
    await manager.waitForConnection({ timeout: 0 });
    const sessionId = manager.sessionId;
    const lock = manager.createLock("job");
    const token = await lock.acquire();
    expect((await manager.inspect("job")).holder?.sessionId).toBe(sessionId);

    await manager.close();
    expect(manager.connectionState).toBe("closed");
    expect(changes.map((change) => change.state)).toEqual(["closed"]);
    expect(lock.isHeld).toBe(false);
    expect(await childrenOf(observer, `${rootDir}/job`)).toEqual([]);
    expect(() => manager.client).toThrow(/was closed/);
    const next = await connectManager(connect, { rootDir });
    managers.push(next);
    expect(await next.createLock("job").acquire()).toBeGreaterThan(token);
    await expect(manager.createLock("job").acquire()).rejects.toSatisfy((e) =>
      isLockError(e, "NOT_INITIALIZED"),
    );
  });

  it.each([
    ["", /must be a ZooKeeper connect string/],
    ["   ", /must be a ZooKeeper connect string/],
    ["127.0.0.1", /no port for "127.0.0.1"; write "127.0.0.1:2181"/],
    ["zk1:2181,zk2", /no port for "zk2"/],
    ["http://127.0.0.1:2181", /is a URL/],
    ["127.0.0.1:0", /invalid port "0"/],
    ["127.0.0.1:2181,,127.0.0.2:2181", /empty server/],
    ["[::1]", /no port for "\[::1\]"/],
    ["[127.0.0.1]:2181", /brackets hold an IPv6 address/],
    ["127.0.0.1:2181/app/", /invalid chroot/],
    [undefined, /got undefined/],
  ])("refuses the connect string %j with INVALID_ARGUMENT before anything is sent", async (bad, message) => {
    const error = await failure(connectManager(bad as string));
    expect(isLockError(error, "INVALID_ARGUMENT"), String(error)).toBe(true);
    expect(error.message).toMatch(message);
    expect(() => openManagerOwning(bad as string)).toThrow(message);
  });

  it("refuses bad connect options, and init() on a manager that owns its client", async () => {
    for (const options of [
      { sessionTimeout: 0 },
      { sessionTimeout: 1.5 },
      { connectTimeout: -1 },
      { auth: [{}] },
    ]) {
      const error = await failure(connectManager(connect, options as never));
      expect(isLockError(error, "INVALID_ARGUMENT"), JSON.stringify(options)).toBe(true);
    }
    const manager = await connectManager(connect);
    managers.push(manager);
    expect(() => manager.init(new ZooKeeper({ connect, timeout: 5000 }))).toThrow(/owns its client/);
  });
});

describe("an unreachable server", () => {
  const managers = closedAfterEach();
  let down: Awaited<ReturnType<typeof refusingPort>>;

  beforeAll(async () => {
    down = await refusingPort();
  });
  afterAll(() => down.close());

  it("makes connect() fail with CONNECTION after connectTimeout, naming the servers, with few attempts", async () => {
    const before = down.connections();
    const error = await failure(connectManager(down.connectString, { connectTimeout: 1500 }));
    expect(isLockError(error, "CONNECTION"), String(error)).toBe(true);
    expect(error.message).toMatch(
      new RegExp(
        `^No ZooKeeper session within 1500 ms: no connection to ZooKeeper at ${down.connectString} for the last \\d+ ms \\(connecting`,
      ),
    );
    // No spin. The C client tries each server, then pauses a third of the session timeout;
    // @zk-dist-lock/client backs off from 50 ms, doubling, to one attempt a second.
    expect(down.connections() - before).toBeLessThanOrEqual(onBinding ? 5 : 8);
  });

  it("fails acquire, inspect, resources and waitForConnection with CONNECTION when their time runs out", async () => {
    const manager = openManagerOwning(down.connectString, { rootDir: uniqueRoot("down") });
    managers.push(manager);
    expect(manager.connectionState).toBe("connecting");
    const lock = manager.createLock("job");
    const outage =
      /no connection to ZooKeeper at 127\.0\.0\.1:\d+ for the last \d+ ms \(connecting: opening a session\)/;

    const acquire = await failure(lock.acquire({ timeout: 300 }));
    expect(isLockError(acquire, "CONNECTION"), String(acquire)).toBe(true);
    expect(acquire.message).toMatch(/^Gave up waiting for the lock on "job" after 300 ms: /);
    expect(acquire.message).toMatch(outage);
    expect(acquire.resource).toBe("job");
    expect(lock.state).toBe("idle");

    const tried = await failure(lock.tryAcquire());
    expect(isLockError(tried, "CONNECTION"), String(tried)).toBe(true);
    expect(tried.message).toMatch(outage);

    for (const call of [
      () => manager.inspect("job", { timeout: 200 }),
      () => manager.resources({ timeout: 200 }),
      () => manager.waitForConnection({ timeout: 200 }),
    ]) {
      const error = await failure(call());
      expect(isLockError(error, "CONNECTION"), String(error)).toBe(true);
      expect(error.message).toMatch(outage);
    }

    const controller = new AbortController();
    const waiting = failure(lock.acquire({ signal: controller.signal }));
    controller.abort(new Error("shutting down"));
    const aborted = await waiting;
    expect(isLockError(aborted, "ABORTED"), String(aborted)).toBe(true);
    const inspection = new AbortController();
    const inspecting = failure(manager.inspect("job", { signal: inspection.signal }));
    inspection.abort();
    expect(isLockError(await inspecting, "ABORTED")).toBe(true);
  });
});

// A name under .invalid never resolves (RFC 6761): DNS that is not ready yet, or a name not yet
// published, is an outage to wait out, as an unreachable server is, not bad input.
describe("a host that does not resolve", () => {
  const unresolved = "zk-dist-lock-test.invalid:2181";
  const managers = closedAfterEach();

  it("makes connect() fail with CONNECTION after connectTimeout, naming the servers", async () => {
    const error = await failure(connectManager(unresolved, { connectTimeout: 1000 }));
    expect(isLockError(error, "CONNECTION"), String(error)).toBe(true);
    expect(error.message).toMatch(
      /^No ZooKeeper session within 1000 ms: no connection to ZooKeeper at zk-dist-lock-test\.invalid:2181 for the last \d+ ms \(connecting/,
    );
  });

  it("leaves a manager from open() connecting, its waits failing with CONNECTION", async () => {
    const manager = openManagerOwning(unresolved);
    managers.push(manager);
    const states: string[] = [];
    manager.on("connectionState", ({ state }) => states.push(state));
    const waited = await failure(manager.waitForConnection({ timeout: 1000 }));
    expect(isLockError(waited, "CONNECTION"), String(waited)).toBe(true);
    const acquire = await failure(manager.createLock("job").acquire({ timeout: 200 }));
    expect(isLockError(acquire, "CONNECTION"), String(acquire)).toBe(true);
    expect(manager.connectionState).toBe("connecting");
    expect(states).toEqual([]);
  });

  // The binding's clients are made by core, one per attempt: the first ones here are given a name
  // that does not resolve, and a later one the server's address, as DNS that comes up does.
  (onBinding ? it : it.skip)("connects a manager of the binding once a later attempt resolves", async () => {
    let attempts = 0;
    const previous = replaceBindingImport(async () => ({
      default: class extends ZooKeeper {
        constructor(settings: { connect: string }) {
          attempts++;
          super({ ...settings, connect: attempts <= 2 ? unresolved : settings.connect });
        }
      },
    }));
    try {
      const manager = openManagerOwning(connect, { rootDir: uniqueRoot("dns") });
      managers.push(manager);
      await manager.waitForConnection({ timeout: 20_000 });
      expect(attempts).toBe(3);
      await manager.withLock("job", () => {});
    } finally {
      replaceBindingImport(previous);
    }
  });
});

// A server that listens on ::1 only: the connection cannot have gone over IPv4.
describe("an IPv6 server", () => {
  const managers = closedAfterEach();
  let server: ZooKeeperServer;
  serverOfItsOwn({ host: "::1" }, (started) => {
    server = started;
  });

  /** The server's connections (`cons`): the address each came from, and its session id in hex. */
  const connectionsOf = async () => await fourLetter("::1", server.port, "cons");

  it.each(["[::1]:PORT", "::1:PORT", "[::1]:PORT/"])(
    "connects with %j, in brackets as Java and Curator write it or bare as the C client does",
    async (form) => {
      const connectString = form.replace("PORT", String(server.port));
      expect(server.connectString).toBe(`[::1]:${server.port}`);
      const manager = await connectManager(connectString, { rootDir: uniqueRoot("ipv6") });
      managers.push(manager);
      await manager.withLock("job", () => {});
      expect(await connectionsOf()).toMatch(
        new RegExp(`/\\[0:0:0:0:0:0:0:1\\]:\\d+[^\\n]*sid=0x0*${manager.sessionId}\\b`),
      );
    },
  );

  it("takes a bracketed address in init() of a client of the run's kind, or names the fix for the binding's", async () => {
    const bracketed = `[::1]:${server.port}`;
    if (onBinding) {
      const zk = new ZooKeeper({ connect: bracketed, timeout: 5000 });
      expect(() => new ZkLockManager().init(zk)).toThrow(
        `init() got a zookeeper client whose connect setting "${bracketed}" puts an IPv6 address in brackets, which its C client does not read: write it bare, "::1:${server.port}"`,
      );
      zk.close();
    }
    const client = unstartedClient(onBinding ? `::1:${server.port}` : bracketed);
    const manager = new ZkLockManager({ rootDir: uniqueRoot("ipv6-init") }).init(client.zk);
    managers.push(manager);
    await manager.waitForConnection({ timeout: 15_000 });
    await manager.withLock("job", () => {});
    await manager.close();
    client.close();
  });
});

describe("misconfiguration on a server of its own", () => {
  const managers = closedAfterEach();
  let server: ZooKeeperServer;
  serverOfItsOwn({}, (started) => {
    server = started;
  });

  const received = () => requestsReceived(server.host, server.port);

  it("names a missing chroot at connect() and fails acquire() on it within a few requests", async () => {
    const missing = `${server.connectString}/missing-${Date.now()}`;
    const refused = await failure(connectManager(missing));
    expect(isLockError(refused, "ZOOKEEPER"), String(refused)).toBe(true);
    expect(refused.message).toMatch(
      /^ZooKeeper has no node \/missing-\d+, the chroot of the connect string "127\.0\.0\.1:\d+\/missing-\d+"/,
    );

    const manager = openManagerOwning(missing, { rootDir: "/locks/app" });
    managers.push(manager);
    await manager.waitForConnection({ timeout: 10_000 });
    const before = await received();
    const error = await failure(manager.createLock("job").acquire());
    const sent = (await received()) - before;
    expect(isLockError(error, "ZOOKEEPER"), String(error)).toBe(true);
    expect(error.message).toMatch(/has no node \/missing-\d+, the chroot/);
    // One round trip: the creates of /locks, /locks/app, the directory and the node, and a listing
    // (the srvr commands count too). The old code sent about 6,000 a second, forever.
    expect(sent).toBeLessThanOrEqual(10);
  });

  it("stops a manager whose authentication ZooKeeper refuses, naming it, rather than open session after session", async () => {
    const manager = openManagerOwning(server.connectString, {
      auth: [{ scheme: "bogus", credentials: "x" }],
    });
    managers.push(manager);
    const states: string[] = [];
    manager.on("connectionState", ({ state }) => states.push(state));
    await waitFor(() => manager.connectionState === "closed", { message: "the manager to stop" });
    const error = await failure(manager.createLock("job").acquire({ timeout: 5000 }));
    expect(isLockError(error, "ZOOKEEPER"), String(error)).toBe(true);
    expect(error.message).toMatch(/refused this manager's authentication \(auth scheme "bogus"\)/);
    const waited = await failure(manager.waitForConnection({ timeout: 5000 }));
    expect(waited.message).toBe(error.message);
    // One session, refused; before, a new one every millisecond or so.
    expect(states.filter((state) => state === "expired")).toHaveLength(1);
  });

  it("creates rootDir again when an operator deleted it while the manager took it as known", async () => {
    const rootDir = uniqueRoot("deleted");
    const manager = await connectManager(server.connectString, { rootDir });
    managers.push(manager);
    const lock = manager.createLock("job");
    await lock.acquire();
    await lock.release();
    const operator = await connectClient(server.connectString);
    for (const child of await childrenOf(operator, rootDir)) await operator.delete(`${rootDir}/${child}`);
    await operator.delete(rootDir);
    const before = await received();
    await lock.acquire({ timeout: 5000 });
    expect((await received()) - before).toBeLessThanOrEqual(16);
    expect(await exists(operator, lock.nodePath!)).toBe(true);
    await lock.release();
  });
});

describe('client: "zookeeper" without the package installed', () => {
  const notInstalled = () =>
    Promise.reject(new Error("Cannot find package 'zookeeper' imported from @zk-dist-lock/core"));
  const install = /needs the npm zookeeper package, which could not be loaded .*npm install zookeeper/;

  it("makes connect() reject with INVALID_ARGUMENT naming the install", async () => {
    const previous = replaceBindingImport(notInstalled);
    try {
      const error = await failure(connectManager(connect, { client: "zookeeper" }));
      expect(isLockError(error, "INVALID_ARGUMENT"), String(error)).toBe(true);
      expect(error.message).toMatch(install);
    } finally {
      replaceBindingImport(previous);
    }
  });

  it("ends a manager from open(): closed with the reason, acquisitions and waits rejecting with INVALID_ARGUMENT", async () => {
    const previous = replaceBindingImport(notInstalled);
    const manager = ZkLockManager.open(connect, { client: "zookeeper" });
    try {
      await waitFor(() => manager.connectionState === "closed");
      const acquire = await failure(manager.createLock("job").acquire({ timeout: 5000 }));
      expect(isLockError(acquire, "INVALID_ARGUMENT"), String(acquire)).toBe(true);
      expect(acquire.message).toMatch(install);
      const waited = await failure(manager.waitForConnection({ timeout: 5000 }));
      expect(isLockError(waited, "INVALID_ARGUMENT"), String(waited)).toBe(true);
    } finally {
      replaceBindingImport(previous);
      await manager.close();
    }
  });
});

// The binding's clients have no connectTimeout: they try until closed, which these tests ask of ours.
describe.skipIf(onBinding)("init() of an unstarted @zk-dist-lock/client without ZooKeeper", () => {
  it("keeps trying past the client's default connectTimeout of 15 s, and connects once a server is up", async () => {
    const [port] = await freePorts(1);
    const zk = new ZooKeeperClient(`127.0.0.1:${port}`, { sessionTimeout: 5000 });
    const manager = new ZkLockManager({ rootDir: uniqueRoot("late") }).init(zk);
    const since = performance.now();
    try {
      await waitFor(() => performance.now() - since > 16_000 || zk.state === "closed", {
        timeoutMs: 20_000,
      });
      expect(zk.state).toBe("connecting");
      expect(manager.connectionState).toBe("connecting");
      await using server = await startZooKeeper({ port });
      await manager.waitForConnection({ timeout: 15_000 });
      expect(server.running).toBe(true);
      await manager.withLock("job", () => {});
    } finally {
      await manager.close();
      await zk.close();
    }
  }, 60_000);

  it("respects a connectTimeout set on the client: it closes after it, and the manager's session is over", async () => {
    const [port] = await freePorts(1);
    const zk = new ZooKeeperClient(`127.0.0.1:${port}`, { sessionTimeout: 5000, connectTimeout: 500 });
    const manager = new ZkLockManager().init(zk);
    await waitFor(() => manager.connectionState === "expired");
    expect(zk.state).toBe("closed");
    const error = await failure(manager.waitForConnection({ timeout: 1000 }));
    expect(isLockError(error, "CONNECTION"), String(error)).toBe(true);
    await manager.close();
  });
});

describe("init() with a client that cannot work", () => {
  // Settings of the binding's constructor that only the manager checks: @zk-dist-lock/client
  // checks its own at construction (BADARGUMENTS) and resolves hosts at each attempt.
  (onBinding ? it : it.skip).each([
    [
      "no settings",
      () => new ZooKeeper(undefined as never),
      /connect setting must be a ZooKeeper connect string .*got undefined/,
    ],
    ["no port", () => new ZooKeeper({ connect: "127.0.0.1", timeout: 5000 }), /no port for "127.0.0.1"/],
    ["a URL", () => new ZooKeeper({ connect: "http://127.0.0.1:2181", timeout: 5000 }), /is a URL/],
  ])("refuses %s with INVALID_ARGUMENT naming the problem", (_name, make, message) => {
    const manager = new ZkLockManager();
    const client = make();
    const error = thrown(() => manager.init(client));
    expect(isLockError(error, "INVALID_ARGUMENT"), String(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(() => manager.createLock("job")).toThrow(/Call init\(zkClient\)/);
    client.close();
  });

  // The C client starts no client without an address: init() cannot wait for DNS on a client of
  // yours, but it is an outage all the same, not a mistake in the input.
  (onBinding ? it : it.skip)(
    "fails with CONNECTION for a host that does not resolve, and works once called again",
    async () => {
      const client = new ZooKeeper({ connect: "zk-dist-lock-test.invalid:2181", timeout: 5000 });
      const manager = new ZkLockManager();
      const error = thrown(() => manager.init(client));
      expect(isLockError(error, "CONNECTION"), String(error)).toBe(true);
      expect((error as Error).message).toMatch(
        /could not start with connect string "zk-dist-lock-test\.invalid:2181": none of its hosts resolves/,
      );
      expect(() => manager.createLock("job")).toThrow(/Call init\(zkClient\)/);
      client.close();
      const { zk } = await connectClient(connect);
      manager.init(zk);
      await manager.withLock("job", () => {}, { rootDir: uniqueRoot("resolves") });
      await manager.close();
      closeClients();
    },
  );

  it("refuses a client that was closed, before or after it connected", async () => {
    const neverConnected = unstartedClient(connect);
    neverConnected.start();
    neverConnected.close();
    // A binding client closed so looks unstarted, so init() starts it to find out; the binding
    // asserts (and the process aborts) when a client is started again before its close has
    // finished, in the same tick.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(() => new ZkLockManager().init(neverConnected.zk)).toThrow(/a closed client never connects again/);
    const { zk } = await connectClient(connect);
    await zk.close();
    expect(() => new ZkLockManager().init(zk)).toThrow(
      onBinding ? /was closed \(session 0x[0-9a-f]+\)/ : /is closed; a closed client never connects again/,
    );
  });

  it("fails acquires of a manager whose given client expired with CONNECTION naming the fix, and takes a new one", async () => {
    const client = await connectClient(connect, 5000);
    const manager = new ZkLockManager({ rootDir: uniqueRoot("given") }).init(client.zk);
    const changes: ConnectionStateChange[] = [];
    manager.on("connectionState", (change) => changes.push(change));
    client.zk.close();
    await waitFor(() => manager.connectionState === "expired");
    expect(changes.at(-1)).toMatchObject({ state: "expired", reason: "the ZooKeeper client was closed" });
    const error = await failure(manager.createLock("job").acquire({ timeout: 5000 }));
    expect(isLockError(error, "CONNECTION")).toBe(true);
    expect(error.message).toMatch(
      /got its client through init\(\).*create a new client and call init\(\) with it/,
    );
    const waited = await failure(manager.waitForConnection({ timeout: 5000 }));
    expect(waited.message).toBe(error.message);
    const fresh = await connectClient(connect, 5000);
    manager.init(fresh.zk);
    expect(manager.connectionState).toBe("connected");
    await manager.createLock("job").acquire();
    await manager.close();
    closeClients();
  });
});
