import { ZkLockManager } from "@zk-dist-lock/core";
import { startZooKeeper } from "@zk-dist-lock/testing";
import ZooKeeper from "zookeeper";

/**
 * The process's one `ZkLockManager`, on the ZooKeeper at `ZK_CONNECT` — or, without it, on a
 * throwaway local server started for the demo (needs Java and a ZooKeeper install; see
 * `@zk-dist-lock/testing`). `close()` releases the holds, then closes the client and that server.
 *
 * @example
 * ```ts
 * const { manager, close } = await openLockManager();
 * process.once("SIGINT", close);
 * ```
 */
export async function openLockManager() {
  const server = process.env.ZK_CONNECT ? undefined : await startZooKeeper();
  const connect = process.env.ZK_CONNECT ?? server!.connectString;
  const client = new ZooKeeper({ connect, timeout: 10_000 });
  const manager = new ZkLockManager({ rootDir: "/examples/express-app/locks", acquireTimeout: 5000 });
  manager.init(client);
  return {
    manager,
    connect,
    async close() {
      await manager.close();
      client.close();
      await server?.stop();
    },
  };
}
