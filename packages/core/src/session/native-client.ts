// The one place where core makes clients of the npm `zookeeper` package itself: for managers from
// `ZkLockManager.connect({ client: "zookeeper" })`, and to rejoin the session of a client given to
// `init()`. The package is an optional peer, loaded only when a manager asks for it, so that users
// of the default client never need its C build.
import { LockInvalidArgumentError } from "../errors.js";
import {
  BindingDriver,
  type ClientFactory,
  type ClientSettings,
  startClient,
  type ZooKeeperClient,
} from "./binding-driver.js";
import type { DriverFactory } from "./connection.js";

let binding: Promise<ClientFactory> | undefined;
let importBinding = (): Promise<{ default: unknown }> => import("zookeeper");

/**
 * Replaces how the package is imported, and returns the previous way: for tests of a process where
 * it cannot be found, without moving node_modules.
 */
export function replaceBindingImport(
  next: () => Promise<{ default: unknown }>,
): () => Promise<{ default: unknown }> {
  const previous = importBinding;
  importBinding = next;
  binding = undefined;
  return previous;
}

/**
 * The constructor of the npm `zookeeper` package, as a factory of clients not yet started; rejects
 * with `INVALID_ARGUMENT` when the package is not installed.
 */
export function loadBinding(): Promise<ClientFactory> {
  binding ??= importBinding().then(
    ({ default: ZooKeeper }) =>
      (settings: ClientSettings) =>
        new (ZooKeeper as new (settings: ClientSettings) => ZooKeeperClient)(settings),
    (error: unknown) => {
      binding = undefined;
      throw new LockInvalidArgumentError(
        `client: "zookeeper" needs the npm zookeeper package, which could not be loaded (${error}): install it (npm install zookeeper), or leave the client option out to use @zk-dist-lock/client.`,
      );
    },
  );
  return binding;
}

/**
 * Opens a session on a new client of the npm `zookeeper` package (for a manager from `connect()`),
 * with IPv6 addresses bare: the C client splits each server at its last colon, and would look up
 * a bracketed address as a host name.
 */
export const openBindingDriver: DriverFactory = async (connect, timeout, auth) => {
  const createClient = await loadBinding();
  const client = createClient({ connect: connect.bare, timeout });
  startClient(client, auth, connect.text);
  return new BindingDriver(client, { connectString: connect.bare, createClient, auth, ownsClient: true });
};

/**
 * Makes clients like `client` (its class, its constructor settings under the given ones): how a
 * manager rejoins the session of a client it was given, with the same package the user loaded.
 */
export function clientsLike(client: ZooKeeperClient): ClientFactory {
  const Client = client.constructor as new (config: object) => ZooKeeperClient;
  const base = client.config ?? {};
  return (settings) => new Client({ ...base, ...settings });
}
