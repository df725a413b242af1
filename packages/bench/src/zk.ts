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

/** The calls of the client's native binding that the floor uses. */
interface NativeCalls {
  a_create(path: string, data: string, flags: number, cb: Callback<string>): number;
  a_get_children(path: string, watch: boolean, cb: Callback<string[]>): number;
  a_delete_(path: string, version: number, cb: Callback<void>): number;
  a_exists(path: string, watch: boolean, cb: Callback<unknown>): number;
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
  exists: (zk: ZooKeeper, path: string): Promise<unknown> =>
    call(path, (cb) => native(zk).a_exists(path, false, cb)),
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
