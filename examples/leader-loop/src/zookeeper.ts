import { ZkLockManager } from "@zk-dist-lock/core";
import { startZooKeeper } from "@zk-dist-lock/testing";
import ZooKeeper from "zookeeper";

/**
 * The process's one `ZkLockManager`, on the ZooKeeper at `ZK_CONNECT` (or a throwaway local
 * server, which needs Java and a ZooKeeper install; see `@zk-dist-lock/testing`). When a session
 * expires, the `zookeeper` client closes for good: the manager gets a new client, and elections
 * campaign again on it. `close()` closes manager, client and that server, in that order.
 *
 * @example
 * ```ts
 * const { manager, close } = await openManager({ sessionTimeout: 5000 });
 * ```
 */
export async function openManager({ sessionTimeout = 10_000, label = `pid-${process.pid}` } = {}) {
  const server = process.env.ZK_CONNECT ? undefined : await startZooKeeper();
  const connect = process.env.ZK_CONNECT ?? (server?.connectString as string);
  const manager = new ZkLockManager({ label });
  let client: ZooKeeper | undefined;
  let closing = false;
  const connectNew = () => {
    const zk = new ZooKeeper({ connect, timeout: sessionTimeout });
    manager.init(zk);
    // Listened to after init(), so that the manager has heard of the close first.
    zk.once("close", () => {
      if (!closing) connectNew();
    });
    client = zk;
  };
  connectNew();
  return {
    manager,
    connect,
    async close() {
      closing = true;
      await manager.close();
      client?.close();
      await server?.stop();
    },
  };
}
