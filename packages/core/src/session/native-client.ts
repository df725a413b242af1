// The one place where core makes clients of the npm `zookeeper` package itself (for managers from
// `ZkLockManager.connect()`); everything else takes the narrow `ZooKeeperClient` of zk-client.ts.
import ZooKeeper from "zookeeper";
import type { ClientFactory, ZooKeeperClient } from "./zk-client.js";

/** A client of the npm `zookeeper` package, configured and not started. */
export const createNativeClient: ClientFactory = (settings) =>
  new ZooKeeper(settings) as unknown as ZooKeeperClient;

/**
 * Makes clients like `client` (its class, its constructor settings under the given ones): how a
 * manager rejoins the session of a client it was given, with the same package the user loaded.
 */
export function clientsLike(client: ZooKeeperClient): ClientFactory {
  const Client = client.constructor as new (config: object) => ZooKeeperClient;
  const base = client.config ?? {};
  return (settings) => new Client({ ...base, ...settings });
}
