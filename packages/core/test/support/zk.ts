// Helpers for the tests: connected clients of the run's kind (support/kind.ts), managers with an
// event log, sessions killed from outside, and the server's view of watches.
import { type AddressInfo, createServer } from "node:net";
import { ZooKeeperClient } from "@zk-dist-lock/client";
import {
  connectZooKeeper,
  expireSession,
  fourLetter,
  waitFor,
  type ZooKeeperProxy,
} from "@zk-dist-lock/testing";
import { afterEach, beforeAll, expect } from "vitest";
import ZooKeeper from "zookeeper";
import {
  type LockEvents,
  type ZkAcl,
  type ZkAuth,
  type ZkClient,
  type ZkConnectOptions,
  type ZkLock,
  ZkLockManager,
  type ZkLockManagerOptions,
  type ZkSemaphore,
} from "../../src/index.js";
import { hasEnded } from "../../src/session/client-driver.js";
import { uniqueRoot } from "./client.js";
import { clientKind } from "./kind.js";

export { uniqueRoot } from "./client.js";

/** A connected client of the run's kind, with the lifecycle facts the tests wait for. */
export interface TestClient {
  /** The client itself: what `init()` takes. */
  zk: ZkClient;
  /** Its session id, as `inspect()` names the owner of a node. */
  readonly sessionId: string;
  /** How many times it connected (1 after the first connection, 2 after one reconnect, …). */
  readonly connects: number;
  /** How many times it lost its connection. */
  readonly disconnects: number;
  /** Why it closed, as the binding's close code (-112 for an expired session, 0 when closed), once closed. */
  readonly closedWith: number | undefined;
  /** The children of `path`, or [] when it does not exist. */
  children(path: string): Promise<string[]>;
  /** Whether `path` exists. */
  exists(path: string): Promise<boolean>;
  delete(path: string): Promise<void>;
  /** The result code of creating `path` (0 when created). */
  createRc(path: string): Promise<number>;
  /** The result code of deleting `path` (0 when deleted). */
  deleteRc(path: string): Promise<number>;
  setAcl(path: string, acl: ZkAcl[]): Promise<void>;
  /**
   * Runs `hook` each time the client is asked to delete a node or to list children (as the call
   * is made), once a listing's reply is in, before its caller hears of it (`listed`: the reply
   * waits for the promise `hook` returns, if any), or once a read of a node that sets a watch has
   * been sent, before its reply can come (`watching`). The hook is given the call's path.
   */
  onCall(call: Call, hook: (path: string) => unknown): void;
  close(): void;
}

/** The calls a test can hook into (see `TestClient.onCall`). */
type Call = "delete" | "list" | "listed" | "watching";

const clients = new Set<TestClient>();

/**
 * A client of the run's kind connected to `connect`, asking for a session timeout of `timeoutMs`,
 * authenticated with `auth` when given.
 */
export async function connectClient(connect: string, timeoutMs = 10_000, auth?: ZkAuth): Promise<TestClient> {
  const client =
    clientKind === "zookeeper"
      ? await bindingClient(connect, timeoutMs, auth)
      : await ownClient(connect, timeoutMs, auth);
  clients.add(client);
  return client;
}

async function bindingClient(connect: string, timeoutMs: number, auth?: ZkAuth): Promise<TestClient> {
  const zk = await connectZooKeeper(connect, { sessionTimeout: timeoutMs });
  if (auth) {
    await new Promise<void>((resolve, reject) =>
      zk.add_auth(auth.scheme, auth.credentials, (rc, error) =>
        rc === 0 ? resolve() : reject(new Error(String(error))),
      ),
    );
  }
  const calls = zk as unknown as BindingCalls;
  const rcOf = (send: (cb: (rc: number) => void) => void) =>
    new Promise<number>((resolve) => send((rc) => resolve(rc)));
  const state = {
    zk,
    connects: 1,
    disconnects: 0,
    closedWith: undefined as number | undefined,
    get sessionId() {
      return String(zk.client_id);
    },
    children: (path: string) =>
      new Promise<string[]>((resolve, reject) =>
        calls.a_get_children(path, false, (rc, error, list) =>
          rc === 0 ? resolve(list) : rc === -101 ? resolve([]) : reject(new Error(`${error} (${rc})`)),
        ),
      ),
    exists: async (path: string) => {
      const rc = await rcOf((cb) => calls.a_exists(path, false, cb));
      if (rc !== 0 && rc !== -101) throw new Error(`exists ${path}: ${rc}`);
      return rc === 0;
    },
    delete: (path: string) => zk.delete_(path, -1).then(() => {}),
    createRc: (path: string) => rcOf((cb) => calls.a_create(path, "", 0, cb)),
    deleteRc: (path: string) => rcOf((cb) => calls.a_delete_(path, -1, cb)),
    setAcl: (path: string, acl: ZkAcl[]) => zk.set_acl(path, -1, acl).then(() => {}),
    // The manager calls the binding's native calls (see session/binding-driver.ts): wrap those.
    onCall: (call: Call, hook: (path: string) => unknown) => {
      const native = (zk as unknown as { native: Record<string, (...args: unknown[]) => number> }).native;
      for (const name of bindingCalls[call]) {
        const original = native[name]!.bind(native);
        native[name] = (...args: unknown[]) => {
          const path = args[0] as string;
          if (call === "watching") {
            const sent = original(...args);
            hook(path);
            return sent;
          }
          if (call !== "listed") {
            hook(path);
            return original(...args);
          }
          const callback = args.pop() as (...reply: unknown[]) => void;
          return original(...args, (...reply: unknown[]) => {
            Promise.resolve(hook(path)).then(() => callback(...reply));
          });
        };
      }
    },
    close: () => {
      try {
        zk.close();
      } catch {
        // already closed
      }
    },
  };
  zk.on("connect", () => state.connects++);
  zk.on("connecting", () => state.disconnects++);
  zk.on("close", (_client: unknown, code: number) => {
    state.closedWith = code;
  });
  return state;
}

// The binding's native calls behind each hooked call; listings go out with a watch (aw_) or without.
const listings = ["a_get_children2", "aw_get_children2"];
const bindingCalls: Record<Call, string[]> = {
  delete: ["a_delete_"],
  list: listings,
  listed: listings,
  watching: ["aw_get"],
};

/** The binding's callback calls the helpers use (typed as they behave at run time). */
interface BindingCalls {
  a_get_children(path: string, watch: boolean, cb: (rc: number, error: string, list: string[]) => void): void;
  a_exists(path: string, watch: boolean, cb: (rc: number) => void): void;
  a_create(path: string, data: string, flags: number, cb: (rc: number) => void): void;
  a_delete_(path: string, version: number, cb: (rc: number) => void): void;
}

// The binding's close codes, by the end of a session of @zk-dist-lock/client.
const closeCodes: Record<"expired" | "authFailed" | "closed", number> = {
  expired: -112,
  authFailed: -113,
  closed: 0,
};

async function ownClient(connect: string, timeoutMs: number, auth?: ZkAuth): Promise<TestClient> {
  const zk = new ZooKeeperClient(connect, {
    sessionTimeout: timeoutMs,
    connectTimeout: 20_000,
    auth: auth ? [{ scheme: auth.scheme, auth: auth.credentials }] : [],
  });
  const state = {
    zk,
    connects: 0,
    disconnects: 0,
    closedWith: undefined as number | undefined,
    get sessionId() {
      return zk.sessionIdHex.slice(2);
    },
    children: (path: string) =>
      zk.getChildren(path).then(
        ({ children }) => children,
        (error: { rc?: number }) => {
          if (error.rc === -101) return [];
          throw error;
        },
      ),
    exists: async (path: string) => (await zk.exists(path)) !== null,
    delete: (path: string) => zk.delete(path),
    createRc: (path: string) => rcOfCall(zk.create(path, "")),
    deleteRc: (path: string) => rcOfCall(zk.delete(path)),
    setAcl: (path: string, acl: ZkAcl[]) =>
      zk
        .setACL(
          path,
          acl.map(({ perms, scheme, auth }) => ({ perms, scheme, id: auth })),
        )
        .then(() => {}),
    onCall: (call: Call, hook: (path: string) => unknown) => {
      const calls = zk as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const name = call === "delete" ? "delete" : call === "watching" ? "getData" : "getChildren";
      const original = calls[name]!.bind(zk);
      calls[name] = (...args: unknown[]) => {
        const path = args[0] as string;
        if (call === "watching") {
          // The client sends a request at once while connected: the hook runs with it on its way.
          const reply = original(...args);
          if ((args[1] as { watcher?: unknown } | undefined)?.watcher) hook(path);
          return reply;
        }
        if (call !== "listed") hook(path);
        const reply = original(...args);
        if (call !== "listed") return reply;
        return reply.then(async (result) => {
          await hook(path);
          return result;
        });
      };
    },
    close: () => {
      zk.close().catch(() => {});
    },
  };
  zk.on("state", (next) => {
    if (next === "connected") state.connects++;
    else if (next === "disconnected") state.disconnects++;
    else if (hasEnded(next)) state.closedWith = closeCodes[next as keyof typeof closeCodes];
  });
  await zk.start();
  return state;
}

const rcOfCall = (call: Promise<unknown>) =>
  call.then(
    () => 0,
    (error: { rc?: number }) => error.rc ?? Number.NaN,
  );

/** A client of the run's kind, configured and not started (as the READMEs show), to start and close. */
export function unstartedClient(
  connect: string,
  timeoutMs = 5000,
): { zk: ZkClient; start(): void; close(): void } {
  if (clientKind === "zookeeper") {
    const zk = new ZooKeeper({ connect, timeout: timeoutMs });
    return { zk, start: () => zk.init({}), close: () => zk.close() };
  }
  const zk = new ZooKeeperClient(connect, { sessionTimeout: timeoutMs });
  return { zk, start: () => void zk.start().catch(() => {}), close: () => void zk.close() };
}

/** Closes every client the helpers opened that is still open. */
export function closeClients(): void {
  for (const client of clients) client.close();
  clients.clear();
}

/** Every event a manager emitted, in order, with its name. */
export type EventLog = { [K in keyof LockEvents]: { name: K } & LockEvents[K][0] }[keyof LockEvents][];

export interface TestManager {
  manager: ZkLockManager;
  client: TestClient;
  events: EventLog;
}

/** A manager on its own client of the run's kind (so its own session), recording its events. */
export async function startManager(
  connect: string,
  options: ZkLockManagerOptions & { sessionTimeoutMs?: number } = {},
): Promise<TestManager> {
  const { sessionTimeoutMs, ...managerOptions } = options;
  const client = await connectClient(connect, sessionTimeoutMs);
  const manager = new ZkLockManager(managerOptions);
  manager.init(client.zk);
  const events: EventLog = [];
  for (const name of ["acquired", "released", "suspended", "reconnected", "lost", "cleanupFailed"] as const) {
    manager.on(name, (event: object) => events.push({ name, ...event } as EventLog[number]));
  }
  return { manager, client, events };
}

/**
 * For the tests of one describe block whose contenders each run on a session of their own:
 * `sessions(count)` starts `count` managers under one fresh root (see `startManagers`), and each
 * test's managers and test clients are closed after it.
 */
export function sessionsPerTest(connect: string, prefix: string): (count: number) => Promise<TestManager[]> {
  const managers: TestManager[] = [];
  afterEach(async () => {
    await Promise.allSettled(managers.map(({ manager }) => manager.close()));
    managers.length = 0;
    closeClients();
  });
  return async (count) => {
    const started = await startManagers(connect, count, prefix);
    managers.push(...started);
    return started;
  };
}

/**
 * For the tests of one describe block that start managers, some behind TCP proxies: an observer
 * client of the server for the whole block (`observer()`), and the managers and proxies the tests
 * push, closed and stopped after each test.
 */
export function trackedSessions(connect: string): {
  managers: TestManager[];
  proxies: ZooKeeperProxy[];
  observer: () => TestClient;
} {
  const managers: TestManager[] = [];
  const proxies: ZooKeeperProxy[] = [];
  let observer: TestClient | undefined;
  beforeAll(async () => {
    observer = await connectClient(connect);
    return closeClients;
  });
  afterEach(async () => {
    await Promise.allSettled(managers.map(({ manager }) => manager.close()));
    managers.length = 0;
    await Promise.all(proxies.map((proxy) => proxy.stop()));
    proxies.length = 0;
  });
  return {
    managers,
    proxies,
    observer: () => observer ?? expect.fail("trackedSessions(): the observer connects in beforeAll"),
  };
}

/** `ZkLockManager.connect()` on the run's client. */
export const connectManager = (connect: string, options: ZkConnectOptions = {}): Promise<ZkLockManager> =>
  ZkLockManager.connect(connect, { client: clientKind, ...options });

/** `ZkLockManager.open()` on the run's client. */
export const openManagerOwning = (connect: string, options: ZkConnectOptions = {}): ZkLockManager =>
  ZkLockManager.open(connect, { client: clientKind, ...options });

/** `count` managers, each on its own session, under one fresh root named after `name`. */
export function startManagers(connect: string, count: number, name: string): Promise<TestManager[]> {
  const rootDir = uniqueRoot(name);
  return Promise.all(Array.from({ length: count }, () => startManager(connect, { rootDir })));
}

/**
 * Starts `handle.acquire()` and resolves, once the queue of `resource` (as `observer` sees it) has
 * more than `position` nodes, with the acquisition: wrapped, so that it is not awaited with the
 * queueing. Queue handles one at a time with it to know their order.
 */
export async function queueUp(
  observer: TestManager,
  resource: string,
  handle: { acquire(): Promise<bigint> },
  position: number,
): Promise<{ acquisition: Promise<bigint> }> {
  const acquisition = handle.acquire();
  await waitFor(
    async () => {
      const { holders, waiters } = await observer.manager.inspect(resource);
      return holders.length + waiters.length > position;
    },
    { message: `node ${position} of ${resource} in the queue` },
  );
  return { acquisition };
}

/**
 * Gives up three waits of `waiter` (of `waiterSide`'s manager) behind `holder` (of `observer`'s),
 * which holds `resource` (a timeout, a try, and an abort once queued), and checks that each failed
 * as it should and left no node: only the holder's, until its release.
 */
export async function expectAbandonedWaitsLeaveNothing(
  observer: TestManager,
  waiterSide: TestManager,
  resource: string,
  holder: ZkLock | ZkSemaphore,
  waiter: ZkLock | ZkSemaphore,
): Promise<void> {
  await holder.acquire();
  await expect(waiter.acquire({ timeout: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
  expect(await waiter.tryAcquire()).toBeUndefined();
  const abort = new AbortController();
  const aborted = waiter.acquire({ signal: abort.signal });
  // Through the waiter's own session, whose replies come in order: the waiter knows its node then.
  await waitFor(async () => (await waiterSide.manager.inspect(resource)).waiters.length === 1, {
    message: "the waiter queued",
  });
  abort.abort();
  await expect(aborted).rejects.toMatchObject({ code: "ABORTED" });
  // Deleted in the background, before anything else the waiter's manager sends.
  expect(await childrenOf(waiterSide.client, holder.path)).toEqual([
    holder.nodePath!.slice(holder.path.length + 1),
  ]);
  await holder.release();
  expect(await childrenOf(observer.client, holder.path)).toEqual([]);
}

/** The recorded events of one kind. */
export function eventsNamed<K extends keyof LockEvents>(events: EventLog, name: K): LockEvents[K][0][] {
  return events.filter((event) => event.name === name) as unknown as LockEvents[K][0][];
}

/** Ends `client`'s session from outside (Curator's KillSession) and waits until the client hears of it. */
export function killSession(connect: string, client: TestClient): Promise<void> {
  return killSessionOf(connect, client.zk, () => client.closedWith !== undefined);
}

/** The id of the session a client of either kind is on, as `inspect()` names node owners. */
export const sessionIdOf = (zk: ZkClient): string =>
  zk instanceof ZooKeeperClient ? zk.sessionIdHex.slice(2) : String((zk as ZooKeeper).client_id);

/** Whether a client of either kind has ended (closed, or heard its session expired). */
const isOver = (zk: ZkClient): boolean =>
  zk instanceof ZooKeeperClient ? hasEnded(zk.state) : (zk as ZooKeeper).timeout === -1;

/**
 * {@link killSession} for any client, such as the one a manager made: it resolves once `heard()`
 * (by default: once `zk` has ended).
 */
export async function killSessionOf(connect: string, zk: ZkClient, heard?: () => boolean): Promise<void> {
  const victim =
    zk instanceof ZooKeeperClient
      ? { sessionId: zk.sessionIdHex.slice(2), password: zk.sessionPassword.toString("hex") }
      : (zk as ZooKeeper);
  const timeout = zk instanceof ZooKeeperClient ? zk.negotiatedTimeout : (zk as ZooKeeper).timeout;
  await expireSession(victim, { connect });
  await waitFor(heard ?? (() => isOver(zk)), {
    timeoutMs: 2 * timeout,
    message: "the victim to hear that its session expired",
  });
}

/** The children of `path`, or [] when it does not exist. */
export const childrenOf = (client: TestClient, path: string): Promise<string[]> => client.children(path);

/** Whether `path` exists. */
export const exists = (client: TestClient, path: string): Promise<boolean> => client.exists(path);

/** The server's data watches (`wchp`): watched path → the sessions (hex, no 0x) watching it. */
export async function watchesByPath(host: string, port: number): Promise<Map<string, string[]>> {
  const answer = await fourLetter(host, port, "wchp");
  const watches = new Map<string, string[]>();
  let path: string | undefined;
  for (const line of answer.split("\n")) {
    if (line.startsWith("/")) {
      path = line;
      watches.set(path, []);
    } else if (line.startsWith("\t0x") && path) {
      watches.get(path)?.push(line.slice(3));
    }
  }
  return watches;
}

/**
 * How many watches the server holds (`mntr`'s zk_watch_count): node and children watches, whereas
 * `wchp` lists node watches only. Server-wide: meaningful on a server of the test's own.
 */
export async function watchCount(host: string, port: number): Promise<number> {
  const answer = await fourLetter(host, port, "mntr");
  const count = /^zk_watch_count\s+(\d+)$/m.exec(answer)?.[1];
  if (count === undefined) throw new Error(`no zk_watch_count in ${answer}`);
  return Number(count);
}

/** The paths that `session` (hex, no 0x) watches in a {@link watchesByPath} answer. */
export const watchedBy = (watches: Map<string, string[]>, session: string): string[] =>
  [...watches].filter(([, watchers]) => watchers.includes(session)).map(([path]) => path);

/**
 * Counts the listings a client sends from now on, with a watch or without (a woken waiter lists the
 * queue again).
 */
export function countListings(client: TestClient): { readonly count: number } {
  const counter = { count: 0 };
  client.onCall("list", () => counter.count++);
  return counter;
}

/** The session id of a test client, as `watchesByPath` and `Participant.sessionId` write it. */
export const sessionOf = (client: TestClient): string => client.sessionId;

/** `host` and `port` of the first server of a connect string. */
export function hostAndPort(connect: string): { host: string; port: number } {
  const [host = "127.0.0.1", port = "2181"] = connect.split(",")[0]!.split(":");
  return { host, port: Number(port) };
}

/** The paths `m`'s session watches, as the server at `connect` reports them, sorted. */
export async function watchesOf(connect: string, m: TestManager): Promise<string[]> {
  const { host, port } = hostAndPort(connect);
  return watchedBy(await watchesByPath(host, port), sessionOf(m.client)).sort();
}

/** Waits until `m`'s session watches exactly `expected` on the server at `connect`. */
export const expectWatches = (connect: string, m: TestManager, expected: string[], message: string) =>
  waitFor(async () => JSON.stringify(await watchesOf(connect, m)) === JSON.stringify([...expected].sort()), {
    message,
  });

/** The node paths of `resource`'s queue, holders first, as `observer`'s manager inspects it. */
export async function queueNodes(observer: TestManager, resource: string): Promise<string[]> {
  const { path, holders, waiters } = await observer.manager.inspect(resource);
  return [...holders, ...waiters].map((p) => `${path}/${p.node}`);
}

/** How many requests the server has received (`srvr`): what a client cost it, whatever the clock says. */
export async function requestsReceived(host: string, port: number): Promise<number> {
  const answer = await fourLetter(host, port, "srvr");
  const received = /^Received: (\d+)$/m.exec(answer)?.[1];
  if (received === undefined) throw new Error(`no Received count in ${answer}`);
  return Number(received);
}

/** A port that accepts connections and closes them at once, counting them: ZooKeeper down. */
export async function refusingPort(): Promise<{
  connectString: string;
  connections: () => number;
  close(): Promise<void>;
}> {
  let connections = 0;
  const server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connectString: `127.0.0.1:${port}`,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
