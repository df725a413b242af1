// Helpers for the fault tests: connected clients, managers with an event log, sessions killed from
// outside, and the server's view of watches.
import { type AddressInfo, createServer } from "node:net";
import { connectZooKeeper, expireSession, fourLetter, waitFor } from "@zk-dist-lock/testing";
import { expect } from "vitest";
import type ZooKeeper from "zookeeper";
import {
  type LockEvents,
  type ZkLock,
  ZkLockManager,
  type ZkLockManagerOptions,
  type ZkSemaphore,
} from "../../src/index.js";
import { children, uniqueRoot } from "./client.js";

export { uniqueRoot } from "./client.js";

/** A client of the npm `zookeeper` package with the lifecycle facts the tests wait for. */
export interface TestClient {
  zk: ZooKeeper;
  /** How many times it connected (1 after the first connection, 2 after one reconnect, …). */
  readonly connects: number;
  /** How many times it lost its connection (its `connecting` events). */
  readonly disconnects: number;
  /** The code of its `close` event (-112 for an expired session), once closed. */
  readonly closedWith: number | undefined;
}

const clients = new Set<ZooKeeper>();

/** A client connected to `connect`, asking for a session timeout of `timeoutMs`. */
export async function connectClient(
  connect: string,
  timeoutMs = 10_000,
  extra: Record<string, unknown> = {},
): Promise<TestClient> {
  const zk = await connectZooKeeper(connect, { sessionTimeout: timeoutMs, config: extra });
  clients.add(zk);
  const state = { zk, connects: 1, disconnects: 0, closedWith: undefined as number | undefined };
  zk.on("connect", () => state.connects++);
  zk.on("connecting", () => state.disconnects++);
  zk.on("close", (_client: unknown, code: number) => {
    state.closedWith = code;
  });
  return state;
}

/** Closes every client the helpers opened that is still open. */
export function closeClients(): void {
  for (const zk of clients) {
    try {
      zk.close();
    } catch {
      // already closed
    }
  }
  clients.clear();
}

/** Every event a manager emitted, in order, with its name. */
export type EventLog = { [K in keyof LockEvents]: { name: K } & LockEvents[K][0] }[keyof LockEvents][];

export interface TestManager {
  manager: ZkLockManager;
  client: TestClient;
  events: EventLog;
}

/** A manager on its own client (so its own session), recording its events. */
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
 * Gives up three waits of `waiter` behind `holder`, which holds `resource` (a timeout, a try, and
 * an abort once queued), and checks that each failed as it should and left no node: only the
 * holder's, until its release.
 */
export async function expectAbandonedWaitsLeaveNothing(
  observer: TestManager,
  resource: string,
  holder: ZkLock | ZkSemaphore,
  waiter: ZkLock | ZkSemaphore,
): Promise<void> {
  await holder.acquire();
  await expect(waiter.acquire({ timeout: 50 })).rejects.toMatchObject({ code: "TIMEOUT" });
  expect(await waiter.tryAcquire()).toBeUndefined();
  const abort = new AbortController();
  const aborted = waiter.acquire({ signal: abort.signal });
  await waitFor(async () => (await observer.manager.inspect(resource)).waiters.length === 1, {
    message: "the waiter queued",
  });
  abort.abort();
  await expect(aborted).rejects.toMatchObject({ code: "ABORTED" });
  expect(await childrenOf(observer.client, holder.path)).toEqual([
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

/**
 * {@link killSession} for any client, such as the one a manager made: it resolves once `heard()`
 * (by default: once `zk` has closed).
 */
export async function killSessionOf(connect: string, zk: ZooKeeper, heard?: () => boolean): Promise<void> {
  let closed = false;
  const onClose = () => {
    closed = true;
  };
  zk.once("close", onClose);
  try {
    await expireSession(zk, { connect });
    await waitFor(heard ?? (() => closed), {
      timeoutMs: 2 * zk.timeout,
      message: "the victim to hear that its session expired",
    });
  } finally {
    zk.off("close", onClose);
  }
}

/** The children of `path`, or [] when it does not exist. */
export const childrenOf = (client: TestClient, path: string): Promise<string[]> => children(client.zk, path);

/** Whether `path` exists. */
export async function exists(client: TestClient, path: string): Promise<boolean> {
  try {
    await client.zk.exists(path, false);
    return true;
  } catch (error) {
    if (String(error).includes("-101")) return false;
    throw error;
  }
}

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
 * queue again). The manager calls the client's native binding (see session/zk-session.ts), so that
 * is what is wrapped.
 */
export function countListings(client: TestClient): { readonly count: number } {
  const counter = { count: 0 };
  const calls: NativeListing = client.zk.native;
  for (const name of ["a_get_children2", "aw_get_children2"] as const) {
    const original = calls[name].bind(calls) as (...args: unknown[]) => number;
    calls[name] = (...args: unknown[]) => {
      counter.count++;
      return original(...args);
    };
  }
  return counter;
}

/** The listing calls of the client's native binding, which the manager uses. */
export interface NativeListing {
  a_get_children2(path: string, watch: boolean, callback: (...reply: unknown[]) => void): number;
  aw_get_children2(path: string, watcher: unknown, callback: (...reply: unknown[]) => void): number;
}

/** The session id of a test client, as `watchesByPath` and `Participant.sessionId` write it. */
export const sessionOf = (client: TestClient): string => String(client.zk.client_id);

/** `host` and `port` of the first server of a connect string. */
export function hostAndPort(connect: string): { host: string; port: number } {
  const [host = "127.0.0.1", port = "2181"] = connect.split(",")[0]!.split(":");
  return { host, port: Number(port) };
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
