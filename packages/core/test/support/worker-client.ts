// The client of a test's helper process, of the kind the test runs on (ZK_CLIENT, set by
// startChild): configured and not started, so that the manager's init() starts it.
import { ZooKeeperClient } from "@zk-dist-lock/client";
import ZooKeeper from "zookeeper";
import type { ZkClient } from "../../src/index.js";

export interface WorkerClient {
  zk: ZkClient;
  /** Starts the client and resolves once it is connected. */
  connect(): Promise<void>;
  /** Creates an ephemeral sequential node under `prefix` (its parent must exist); resolves to its path. */
  createEphemeralSequential(prefix: string): Promise<string>;
  children(path: string): Promise<string[]>;
  delete(path: string): Promise<void>;
  /** Calls `listener` once, with the session id, when the client first connects. */
  onceConnected(listener: (sessionId: string) => void): void;
  /** Calls `listener` once when the client has ended (its session expired, or it was closed). */
  onceEnded(listener: () => void): void;
  close(): void;
}

export function workerClient(connect: string, timeoutMs: number): WorkerClient {
  if (process.env.ZK_CLIENT === "zookeeper") {
    const zk = new ZooKeeper({ connect, timeout: timeoutMs });
    return {
      zk,
      connect: () =>
        new Promise<void>((resolve, reject) => {
          zk.once("connect", () => resolve());
          zk.once("close", () => reject(new Error(`could not connect to ${connect}`)));
          zk.init({});
        }),
      createEphemeralSequential: (prefix) =>
        zk.create(prefix, "", ZooKeeper.constants.ZOO_EPHEMERAL_SEQUENTIAL),
      children: async (path) => (await zk.get_children(path, false)) as string[],
      delete: async (path) => {
        await zk.delete_(path, -1);
      },
      onceConnected: (listener) => zk.once("connect", () => listener(String(zk.client_id))),
      onceEnded: (listener) => zk.once("close", () => listener()),
      close: () => zk.close(),
    };
  }
  const zk = new ZooKeeperClient(connect, { sessionTimeout: timeoutMs });
  const once = (states: string[], listener: () => void) => {
    const onState = (state: string) => {
      if (!states.includes(state)) return;
      zk.off("state", onState);
      listener();
    };
    zk.on("state", onState);
  };
  return {
    zk,
    connect: () => zk.start(),
    createEphemeralSequential: async (prefix) =>
      (await zk.create(prefix, "", { mode: "ephemeralSequential" })).path,
    children: async (path) => (await zk.getChildren(path)).children,
    delete: (path) => zk.delete(path),
    onceConnected: (listener) => once(["connected"], () => listener(zk.sessionIdHex.slice(2))),
    onceEnded: (listener) => once(["expired", "authFailed", "closed"], listener),
    close: () => void zk.close(),
  };
}
