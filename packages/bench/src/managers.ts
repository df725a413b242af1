import { type ZkClientKind, type ZkConnectOptions, ZkLockManager } from "@zk-dist-lock/core";
import type { ClientKind } from "./scenarios/types.js";
import { SESSION_TIMEOUT_MS } from "./zk.js";

/** The `client` option of core that makes each of the bench's client kinds. */
const coreClient: Record<ClientKind, ZkClientKind> = {
  client: "@zk-dist-lock/client",
  binding: "zookeeper",
};

/**
 * A manager on a client of `kind` that it makes and owns, as an application gets one from
 * `ZkLockManager.connect()`: both clients are made by core with the same settings, and `close()`
 * releases what is held and closes the client.
 *
 * @example
 * ```ts
 * const manager = await connectManager("127.0.0.1:2181", "binding", { rootDir: "/bench" });
 * await manager.withLock("r", () => {});
 * await manager.close();
 * ```
 */
export const connectManager = (
  connect: string,
  kind: ClientKind,
  options: Omit<ZkConnectOptions, "client" | "sessionTimeout"> = {},
): Promise<ZkLockManager> =>
  ZkLockManager.connect(connect, {
    ...options,
    sessionTimeout: SESSION_TIMEOUT_MS,
    client: coreClient[kind],
  });
