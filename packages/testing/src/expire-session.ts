import type ZooKeeper from "zookeeper";
import { connectZooKeeper } from "./connect.js";
import { isZooKeeperTestingError, ZooKeeperTestingError } from "./errors.js";

/**
 * A session to expire: its id and password as hex strings, as the npm `zookeeper` client shows them
 * (`client_id`, `client_password`), in either case, such as `sessionPassword.toString("hex")` of a
 * `@zk-dist-lock/client` client. The id may start with `0x`.
 */
export interface SessionCredentials {
  sessionId: string;
  password: string;
}

/** Options of {@link expireSession}. */
export interface ExpireSessionOptions {
  /**
   * Where to reach the session's ensemble. Default: the client's own connect string. Pass the
   * servers' own when the client goes through a proxy that cuts it off.
   */
  connect?: string;
  /** Give up after this many milliseconds, with code `TIMEOUT`. Default 30000. */
  timeoutMs?: number;
}

// The binding closes a client by itself, as if expired, after this many empty polls (default 10);
// the intruders must only ever close because the server said so.
const patientClient = { response_counter_limit: 1_000_000_000 };

/**
 * Expires a ZooKeeper session from outside, as Curator's KillSession does: an intruder joins the
 * session with its id and password and closes it, which ends the session on the server. The victim
 * hears of it when it next talks to the server (the npm client then closes with -112).
 *
 * Under load the victim may reconnect between the intruder's join and its close and take the session
 * back, which survives the close. So this tries again until a join is refused because the session
 * expired: it resolves only once the server has confirmed that the session is gone.
 *
 * @example
 * ```ts
 * const client = await connectZooKeeper(zk.connectString, { sessionTimeout: 4000 });
 * const closed = new Promise((resolve) => client.once("close", (_: unknown, code: number) => resolve(code)));
 * await expireSession(client);
 * console.log(await closed); // -112, ZSESSIONEXPIRED
 * ```
 */
export async function expireSession(
  victim: ZooKeeper | SessionCredentials,
  options: ExpireSessionOptions = {},
): Promise<void> {
  const credentials =
    "sessionId" in victim
      ? victim
      : {
          // Typed as a number, but the binding hands out the id as a hex string.
          sessionId: String(victim.client_id),
          password: victim.client_password,
          connect: victim.config?.connect as unknown,
        };
  const connect = options.connect ?? ("connect" in credentials ? credentials.connect : undefined);
  const { sessionId, password } = credentials;
  if (typeof connect !== "string" || typeof sessionId !== "string" || typeof password !== "string") {
    throw new ZooKeeperTestingError(
      "INVALID_ARGUMENT",
      "expireSession needs a connected client of the npm zookeeper package, or a session id, a password and options.connect",
    );
  }
  // The binding reads only "0"-"9" and "A"-"F" in a password: any other digit gives other bytes, a
  // join the server refuses as if the session had expired, and a "success" that left it alive.
  if (!/^[0-9a-f]{32}$/i.test(password) || !/^(0x)?[0-9a-f]{1,16}$/i.test(sessionId)) {
    throw new ZooKeeperTestingError(
      "INVALID_ARGUMENT",
      `expireSession needs a session id of at most 16 hex digits and a password of 32 (the session's 16 bytes); got id ${JSON.stringify(sessionId)} and a password of ${password.length} characters${/^[0-9a-f]*$/i.test(password) ? "" : " that are not all hex digits"}`,
    );
  }
  const passwordHex = password.toUpperCase();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new ZooKeeperTestingError(
        "TIMEOUT",
        `Session 0x${sessionId} at ${connect} still lived after ${timeoutMs} ms of attempts to expire it`,
      );
    }
    let intruder: ZooKeeper;
    try {
      intruder = await connectZooKeeper(connect, {
        connectTimeout: left,
        config: { ...patientClient, client_id: sessionId, client_password: passwordHex },
      });
    } catch (error) {
      // -112: the server refused the join because the session is gone, which is what we want.
      if (isZooKeeperTestingError(error) && error.code === "CONNECT_FAILED" && /\(-112\)/.test(error.message))
        return;
      throw error;
    }
    // Joined: the session lives. Closing it ends it, unless the victim takes it back first; the
    // next round finds out which.
    intruder.close();
  }
}
