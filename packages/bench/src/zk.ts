import { type CreateMode, ZooKeeperClient } from "@zk-dist-lock/client";
import { connectZooKeeper } from "@zk-dist-lock/testing";
import type ZooKeeper from "zookeeper";
import type { ClientKind } from "./scenarios/types.js";

/** ZooKeeper create modes used by the hand-written floor. */
export const mode = { PERSISTENT: 0, EPHEMERAL_SEQUENTIAL: 3, CONTAINER: 4 } as const;
type ModeNumber = (typeof mode)[keyof typeof mode];

/**
 * JVM flags for every ZooKeeper server the bench starts: the test launcher's quick-start flags leave
 * out C2, and a server that runs as users run it needs it.
 */
export const SERVER_JVM = ["-XX:TieredStopAtLevel=4", "-Xmx512m"];

/** The session timeout of every client the bench opens, ms. */
export const SESSION_TIMEOUT_MS = 5000;

/** A client of the npm `zookeeper` package, resolved once its session is connected. */
export const connectClient = (connect: string, timeout = SESSION_TIMEOUT_MS): Promise<ZooKeeper> =>
  connectZooKeeper(connect, { sessionTimeout: timeout });

/**
 * The plain requests the floor, the raw-request probe and the bench's housekeeping make, one round
 * trip each, on either client. Errors keep the client's own shape: test them with {@link isCode}.
 */
export interface Requests {
  create(path: string, flags: ModeNumber): Promise<string>;
  children(path: string): Promise<string[]>;
  exists(path: string): Promise<unknown>;
  delete(path: string): Promise<void>;
  close(): Promise<void>;
}

const rcs = { NODEEXISTS: -110, NONODE: -101 } as const;

/** Whether `error` is ZooKeeper's `name`, from either client (the binding's `rc`, the client's `code`). */
export const isCode = (error: unknown, name: keyof typeof rcs): boolean => {
  const { rc, code } = (error ?? {}) as { rc?: number; code?: string };
  return rc === rcs[name] || code === name;
};

/** {@link Requests} through the binding's native calls (see `raw`). */
export const bindingRequests = (zk: ZooKeeper): Requests => ({
  create: (path, flags) => raw.create(zk, path, flags),
  children: (path) => raw.children(zk, path),
  exists: (path) => raw.exists(zk, path),
  delete: (path) => raw.delete(zk, path),
  async close() {
    zk.close();
  },
});

const clientModes: Record<ModeNumber, CreateMode> = {
  [mode.PERSISTENT]: "persistent",
  [mode.EPHEMERAL_SEQUENTIAL]: "ephemeralSequential",
  [mode.CONTAINER]: "container",
};

/** {@link Requests} through @zk-dist-lock/client's public calls, the ones core's driver makes. */
export const clientRequests = (zk: ZooKeeperClient): Requests => ({
  create: async (path, flags) => (await zk.create(path, "", { mode: clientModes[flags] })).path,
  children: async (path) => (await zk.getChildren(path)).children,
  exists: (path) => zk.exists(path),
  delete: (path) => zk.delete(path),
  close: () => zk.close(),
});

/** A connected client of `kind`, as {@link Requests}. */
export const openRequests = async (connect: string, kind: ClientKind): Promise<Requests> =>
  kind === "binding"
    ? bindingRequests(await connectClient(connect))
    : clientRequests(await ZooKeeperClient.connect(connect, { sessionTimeout: SESSION_TIMEOUT_MS }));

// The package types the message as a number; at runtime it is a string. Either prints.
type Callback<T> = (rc: number, error: unknown, result: T) => void;

// The floor talks to the client's native binding, as core does: the package's JS wrapper formats
// every call's arguments for its logger even without one, which no minimal lock needs to pay for.
function call<T>(path: string, send: (cb: Callback<T>) => unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    send((rc, error, result) =>
      rc === 0
        ? resolve(result)
        : reject(Object.assign(new Error(`${String(error)} (${rc}) for ${path}`), { rc })),
    );
  });
}

/** The parts of a node's stat that the bench reads. */
export interface Stat {
  czxid: number;
  pzxid: number;
}

/** The calls of the client's native binding that the floor uses. */
interface NativeCalls {
  a_create(path: string, data: string, flags: number, cb: Callback<string>): number;
  a_get_children2(path: string, watch: boolean, cb: Callback<string[]>): number;
  a_delete_(path: string, version: number, cb: Callback<void>): number;
  a_exists(path: string, watch: boolean, cb: Callback<Stat>): number;
}
const native = (zk: ZooKeeper): NativeCalls => zk.native;

/** The four raw operations the floor is made of, one round trip each. */
export const raw = {
  create: (zk: ZooKeeper, path: string, flags: number, data = ""): Promise<string> =>
    call(path, (cb) => native(zk).a_create(path, data, flags, cb)),
  // With the stat, as core lists (its token on the binding is the pzxid) and as the other client's
  // getChildren() does: the stat is a JS object the binding builds, part of a fenced lock's cost.
  children: (zk: ZooKeeper, path: string): Promise<string[]> =>
    call(path, (cb) => native(zk).a_get_children2(path, false, cb)),
  delete: (zk: ZooKeeper, path: string): Promise<void> =>
    call(path, (cb) => native(zk).a_delete_(path, -1, cb)),
  exists: (zk: ZooKeeper, path: string): Promise<Stat> =>
    call(path, (cb) => native(zk).a_exists(path, false, cb)),
};

/** Creates a persistent path and its missing ancestors. */
export async function ensurePath(zk: Requests, path: string): Promise<void> {
  const segments = path.split("/");
  for (let i = 2; i <= segments.length; i++) {
    await zk.create(segments.slice(0, i).join("/"), mode.PERSISTENT).catch((error) => {
      if (!isCode(error, "NODEEXISTS")) throw error;
    });
  }
}

/** Deletes a path and everything under it; a path already gone is fine. */
export async function removeTree(zk: Requests, path: string): Promise<void> {
  let children: string[];
  try {
    children = await zk.children(path);
  } catch (error) {
    if (isCode(error, "NONODE")) return;
    throw error;
  }
  await Promise.all(children.map((child) => removeTree(zk, `${path}/${child}`)));
  await zk.delete(path).catch((error) => {
    if (!isCode(error, "NONODE")) throw error;
  });
}
