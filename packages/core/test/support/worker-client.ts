// The client of a test's helper process, of the kind the test runs on (ZK_CLIENT, set by
// startChild): configured and not started, so that the manager's init() starts it.
import { type ClientState, ZooKeeperClient } from "@zk-dist-lock/client";
import ZooKeeper from "zookeeper";
import type { ZkClient, ZkClientKind } from "../../src/index.js";
import { hasEnded } from "../../src/session/client-driver.js";

export interface WorkerClient {
  zk: ZkClient;
  /** Starts the client and resolves once it is connected. */
  connect(): Promise<void>;
  /** Creates an ephemeral sequential node under `prefix` (its parent must exist); resolves to its path. */
  createEphemeralSequential(prefix: string): Promise<string>;
  children(path: string): Promise<string[]>;
  /** The zxid that created `path`. */
  czxid(path: string): Promise<bigint>;
  delete(path: string): Promise<void>;
  /** Calls `listener` once, with the session id, when the client first connects. */
  onceConnected(listener: (sessionId: string) => void): void;
  /** Calls `listener` once when the client has ended (its session expired, or it was closed). */
  onceEnded(listener: () => void): void;
  close(): void;
}

/**
 * `kind`, if it names a client: a run that forgot to say which (a new project, a helper process
 * started without ZK_CLIENT) must fail, not test the default client twice in silence.
 */
export function checkedKind(kind: unknown, where: string): ZkClientKind {
  if (kind === "@zk-dist-lock/client" || kind === "zookeeper") return kind;
  throw new Error(`${where} must be "@zk-dist-lock/client" or "zookeeper"; got ${String(kind)}.`);
}

export function workerClient(connect: string, timeoutMs: number): WorkerClient {
  if (checkedKind(process.env.ZK_CLIENT, "ZK_CLIENT") === "zookeeper") {
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
      czxid: async (path) => BigInt((await zk.exists(path, false)).czxid),
      delete: async (path) => {
        await zk.delete_(path, -1);
      },
      onceConnected: (listener) => zk.once("connect", () => listener(String(zk.client_id))),
      onceEnded: (listener) => zk.once("close", () => listener()),
      close: () => zk.close(),
    };
  }
  const zk = new ZooKeeperClient(connect, { sessionTimeout: timeoutMs });
  const once = (wanted: (state: ClientState) => boolean, listener: () => void) => {
    const onState = (state: ClientState) => {
      if (!wanted(state)) return;
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
    czxid: async (path) => {
      const stat = await zk.exists(path);
      if (stat === null) throw new Error(`${path} does not exist`);
      return stat.czxid;
    },
    delete: (path) => zk.delete(path),
    onceConnected: (listener) =>
      once(
        (state) => state === "connected",
        () => listener(zk.sessionIdHex.slice(2)),
      ),
    onceEnded: (listener) => once(hasEnded, listener),
    close: () => void zk.close(),
  };
}
