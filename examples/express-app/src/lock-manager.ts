import { ZkLockManager } from "@zk-dist-lock/core";
import { startZooKeeper } from "@zk-dist-lock/testing";

/**
 * The process's one `ZkLockManager`, on the ZooKeeper at `ZK_CONNECT` — or, without it, on a
 * throwaway local server started for the demo (needs Java and a ZooKeeper install; see
 * `@zk-dist-lock/testing`). The manager owns its client: it opens a new session by itself when one
 * expires. `close()` releases the holds, then closes the client and that server.
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
  const manager = await ZkLockManager.connect(connect, {
    sessionTimeout: 10_000,
    rootDir: "/examples/express-app/locks",
    acquireTimeout: 5000,
  });
  return {
    manager,
    connect,
    async close() {
      await manager.close();
      await server?.stop();
    },
  };
}
