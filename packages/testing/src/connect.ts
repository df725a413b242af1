import type ZooKeeper from "zookeeper";
import { ZooKeeperTestingError } from "./errors.js";

export interface ConnectZooKeeperOptions {
  /** The session timeout to ask the server for, in ms. Default 10000. */
  sessionTimeout?: number;
  /** How long to wait for the session, in ms, before failing with code `TIMEOUT`. Default 20000. */
  connectTimeout?: number;
  /** More settings for the client, such as `client_id` and `client_password` to join a session. */
  config?: Record<string, unknown>;
}

/**
 * A client of the npm `zookeeper` package (an optional peer dependency), resolved once its session
 * is connected. It fails, and closes the client, if the session does not come within
 * `connectTimeout` or the client closes first.
 *
 * @example
 * ```ts
 * const zk = await startZooKeeper();
 * const client = await connectZooKeeper(zk.connectString, { sessionTimeout: 4000 });
 * ```
 */
export async function connectZooKeeper(
  connect: string,
  { sessionTimeout = 10_000, connectTimeout = 20_000, config = {} }: ConnectZooKeeperOptions = {},
): Promise<ZooKeeper> {
  const { default: ZooKeeperClient } = await import("zookeeper");
  const client = new ZooKeeperClient({ connect, timeout: sessionTimeout, ...config });
  return new Promise((resolve, reject) => {
    const settle = (error?: ZooKeeperTestingError) => {
      clearTimeout(timer);
      client.off("connect", onConnect);
      client.off("close", onClose);
      if (!error) return resolve(client);
      client.close();
      reject(error);
    };
    const onConnect = () => settle();
    const onClose = (_client: unknown, code: unknown) =>
      settle(
        new ZooKeeperTestingError(
          "CONNECT_FAILED",
          `The client to ${connect} closed (${code}) before it connected.`,
        ),
      );
    const timer = setTimeout(
      () =>
        settle(
          new ZooKeeperTestingError(
            "TIMEOUT",
            `No ZooKeeper session from ${connect} within ${connectTimeout} ms.`,
          ),
        ),
      connectTimeout,
    );
    client.on("connect", onConnect);
    client.on("close", onClose);
    client.init({});
  });
}
