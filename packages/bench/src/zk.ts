import { connectZooKeeper } from "@zk-dist-lock/testing";
import type ZooKeeper from "zookeeper";

/** ZooKeeper create modes used by the hand-written floor. */
export const mode = { PERSISTENT: 0, EPHEMERAL_SEQUENTIAL: 3, CONTAINER: 4 } as const;
const NODE_EXISTS = -110;
const NO_NODE = -101;

/** A client of the npm `zookeeper` package, resolved once its session is connected. */
export const connectClient = (connect: string, timeout = 5000): Promise<ZooKeeper> =>
  connectZooKeeper(connect, { sessionTimeout: timeout });

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

/** The calls of the client's native binding that the floor and the czxid prototype use. */
interface NativeCalls {
  a_create(path: string, data: string, flags: number, cb: Callback<string>): number;
  a_get_children(path: string, watch: boolean, cb: Callback<string[]>): number;
  a_get_children2(
    path: string,
    watch: boolean,
    cb: (rc: number, error: unknown, children: string[], stat: Stat) => void,
  ): number;
  a_delete_(path: string, version: number, cb: Callback<void>): number;
  a_exists(path: string, watch: boolean, cb: Callback<Stat>): number;
  aw_get(path: string, watcher: () => void, cb: Callback<unknown>): number;
}
const native = (zk: ZooKeeper): NativeCalls => zk.native;

/** The four raw operations the floor is made of, one round trip each. */
export const raw = {
  create: (zk: ZooKeeper, path: string, flags: number, data = ""): Promise<string> =>
    call(path, (cb) => native(zk).a_create(path, data, flags, cb)),
  children: (zk: ZooKeeper, path: string): Promise<string[]> =>
    call(path, (cb) => native(zk).a_get_children(path, false, cb)),
  delete: (zk: ZooKeeper, path: string): Promise<void> =>
    call(path, (cb) => native(zk).a_delete_(path, -1, cb)),
  exists: (zk: ZooKeeper, path: string): Promise<Stat> =>
    call(path, (cb) => native(zk).a_exists(path, false, cb)),
  /** The children and the directory's stat (its pzxid) in one request. */
  children2: (zk: ZooKeeper, path: string): Promise<[string[], Stat]> =>
    new Promise((resolve, reject) => {
      native(zk).a_get_children2(path, false, (rc, error, children, stat) =>
        rc === 0
          ? resolve([children, stat])
          : reject(Object.assign(new Error(`${String(error)} (${rc}) for ${path}`), { rc })),
      );
    }),
  /**
   * Watches the node at `path` with a getData, as the lock recipes do: resolves, once the watch is
   * set, to a promise of the node's deletion — or to undefined when the node is already gone.
   */
  watchGone: async (zk: ZooKeeper, path: string): Promise<Promise<void> | undefined> => {
    let fired!: () => void;
    const gone = new Promise<void>((resolve) => {
      fired = resolve;
    });
    try {
      await call(path, (cb) => native(zk).aw_get(path, () => fired(), cb));
      return gone;
    } catch (error) {
      if ((error as { rc?: number }).rc === NO_NODE) return undefined;
      throw error;
    }
  },
};

/** Creates a persistent path and its missing ancestors. */
export async function ensurePath(zk: ZooKeeper, path: string): Promise<void> {
  const segments = path.split("/");
  for (let i = 2; i <= segments.length; i++) {
    await raw.create(zk, segments.slice(0, i).join("/"), mode.PERSISTENT).catch((error) => {
      if (error.rc !== NODE_EXISTS) throw error;
    });
  }
}

/** Deletes a path and everything under it; a path already gone is fine. */
export async function removeTree(zk: ZooKeeper, path: string): Promise<void> {
  let children: string[];
  try {
    children = await raw.children(zk, path);
  } catch (error) {
    if ((error as { rc?: number }).rc === NO_NODE) return;
    throw error;
  }
  await Promise.all(children.map((child) => removeTree(zk, `${path}/${child}`)));
  await raw.delete(zk, path).catch((error) => {
    if (error.rc !== NO_NODE) throw error;
  });
}
