// The client's options, checked once, with their defaults.
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { badArgument } from "./errors.js";
import { describeValue } from "./paths.js";

/** Credentials sent with `addAuth` on every connection, e.g. `{ scheme: "digest", auth: "user:password" }`. */
export interface AuthInfo {
  scheme: string;
  auth: string | Uint8Array;
}

/** Options of {@link ZooKeeperClient}. */
export interface ZooKeeperClientOptions {
  /**
   * The session timeout to ask for, in ms; the server grants one within its `minSessionTimeout`
   * and `maxSessionTimeout` (see `negotiatedTimeout`). Default 10000.
   */
  sessionTimeout?: number;
  /**
   * How long `connect()` / `start()` waits for the first session, in ms, before it fails with
   * `OPERATIONTIMEOUT` naming the connect string and what each server said. Default 15000, or the
   * `defaultConnectTimeout` given to `start()`.
   */
  connectTimeout?: number;
  /**
   * Connect with TLS: `true` for Node's defaults (system CAs, host name checked), or
   * `tls.connect()` options such as `ca`, `cert` and `key` for a client certificate.
   */
  tls?: TlsOptions | boolean;
  /** Credentials to authenticate with before `connect()` resolves, and again on every reconnect. */
  auth?: readonly AuthInfo[];
  /** Rejoin a live session (from another client's `sessionId` and `sessionPassword`). */
  session?: { id: bigint; password: Uint8Array };
  /**
   * The largest reply read from a server, in bytes: ZooKeeper's `jute.maxbuffer` (1 MiB by
   * default) plus room for the reply's own fields. A longer reply (the children of a node with very
   * many) fails only its request with `MARSHALLINGERROR`, naming its size and the limit; its bytes
   * are dropped as they arrive, never held, and the connection goes on. Before the session
   * handshake is answered, a longer length prefix ends the connection. Default 1 MiB + 64 KiB.
   */
  maxPacketBytes?: number;
  /**
   * The longest request sent, in bytes (without its 4-byte length prefix): the servers'
   * `jute.maxbuffer`, 0xfffff (1048575) by default. A server drops the connection of a longer
   * request and applies nothing, so the client refuses one with `BADARGUMENTS` before sending it,
   * naming its size. Raise it with the servers' `jute.maxbuffer` (and `maxPacketBytes` to read such
   * data back). Default 1048575.
   */
  maxRequestBytes?: number;
  /**
   * Delay between failed connection attempts: it starts at `initialMs`, doubles per failure up to
   * `maxMs`, and is jittered (half to all of it), so a partitioned client makes at most one attempt
   * per `maxMs`. The first attempt after a lost connection waits 0…`initialMs`. Default 50 and 1000.
   */
  reconnectDelay?: { initialMs?: number; maxMs?: number };
}

/** Options of {@link ZooKeeperClient.start}. */
export interface StartOptions {
  /**
   * The `connectTimeout` when the client's options set none, in ms (default 15000): for a library
   * that starts a client handed to it and waits on its own terms, as the Java client does.
   */
  defaultConnectTimeout?: number;
}

/** The timeout of the first session: the client's own, else the start's default, else 15000. */
export function connectTimeoutOf(options: ResolvedOptions, start: unknown): number {
  if (start !== undefined && (typeof start !== "object" || start === null)) {
    throw badArgument(`start() options must be an object; got ${describeValue(start)}.`);
  }
  const { defaultConnectTimeout } = knownKeys(
    start ?? {},
    START_OPTION_NAMES,
    "start() options",
  ) as StartOptions;
  return options.connectTimeout ?? milliseconds(defaultConnectTimeout, "defaultConnectTimeout", 15_000, 1);
}

export interface ResolvedOptions {
  sessionTimeout: number;
  /** As given; undefined leaves it to `start()` (15000 ms unless told otherwise). */
  connectTimeout: number | undefined;
  tls: TlsOptions | undefined;
  auth: AuthInfo[];
  session: { id: bigint; password: Buffer } | undefined;
  maxPacketBytes: number;
  maxRequestBytes: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
}

// Every option's name, in the order the interfaces declare them (messages list them so): a key
// that is none of these, a misspelt one most likely, is refused rather than left to its default.
const OPTION_NAMES: ReadonlySet<string> = new Set([
  "sessionTimeout",
  "connectTimeout",
  "tls",
  "auth",
  "session",
  "maxPacketBytes",
  "maxRequestBytes",
  "reconnectDelay",
]);
const RECONNECT_DELAY_NAMES: ReadonlySet<string> = new Set(["initialMs", "maxMs"]);
const START_OPTION_NAMES: ReadonlySet<string> = new Set(["defaultConnectTimeout"]);

const MAX_TIMER_MS = 2_147_483_647;
// ZooKeeper's default jute.maxbuffer: the longest request its servers read (BinaryInputArchive).
const DEFAULT_JUTE_MAXBUFFER = 0xfffff;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function resolveOptions(options: unknown): ResolvedOptions {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw badArgument(`Client options must be an object; got ${describeValue(options)}.`);
  }
  const given = knownKeys(options ?? {}, OPTION_NAMES, "Client options") as ZooKeeperClientOptions;
  const session = given.session;
  if (
    session !== undefined &&
    (typeof session !== "object" ||
      session === null ||
      typeof session.id !== "bigint" ||
      session.id < INT64_MIN ||
      session.id > INT64_MAX ||
      !(session.password instanceof Uint8Array))
  ) {
    throw badArgument(
      "session must be { id: bigint, password: Uint8Array }, as another client's sessionId and sessionPassword.",
    );
  }
  const tls = given.tls;
  if (tls !== undefined && typeof tls !== "boolean" && (typeof tls !== "object" || tls === null)) {
    throw badArgument(`tls must be true or tls.connect() options; got ${describeValue(tls)}.`);
  }
  const auth = given.auth ?? [];
  if (!Array.isArray(auth) || !auth.every(isAuthInfo)) {
    throw badArgument(
      'auth must be an array of { scheme: string, auth: string | Uint8Array }, e.g. { scheme: "digest", auth: "user:password" }.',
    );
  }
  const reconnectDelay = given.reconnectDelay ?? {};
  if (typeof reconnectDelay !== "object" || reconnectDelay === null) {
    throw badArgument(`reconnectDelay must be { initialMs?, maxMs? }; got ${describeValue(reconnectDelay)}.`);
  }
  knownKeys(reconnectDelay, RECONNECT_DELAY_NAMES, "reconnectDelay");
  const reconnectInitialMs = milliseconds(reconnectDelay.initialMs, "reconnectDelay.initialMs", 50, 1);
  return {
    sessionTimeout: milliseconds(given.sessionTimeout, "sessionTimeout", 10_000, 1),
    connectTimeout:
      given.connectTimeout === undefined
        ? undefined
        : milliseconds(given.connectTimeout, "connectTimeout", 0, 1),
    tls: tls === true ? {} : tls || undefined,
    auth: [...auth],
    session: session && { id: session.id, password: Buffer.from(session.password) },
    maxPacketBytes: integer(
      given.maxPacketBytes,
      "maxPacketBytes",
      1024 * 1024 + 64 * 1024,
      1024,
      0x7fffffff,
    ),
    maxRequestBytes: integer(
      given.maxRequestBytes,
      "maxRequestBytes",
      DEFAULT_JUTE_MAXBUFFER,
      1024,
      0x7fffffff,
    ),
    reconnectInitialMs,
    reconnectMaxMs: milliseconds(
      reconnectDelay.maxMs,
      "reconnectDelay.maxMs",
      Math.max(1000, reconnectInitialMs),
      reconnectInitialMs,
    ),
  };
}

function knownKeys(options: object, known: ReadonlySet<string>, what: string): object {
  for (const key in options) {
    if (!known.has(key)) {
      throw badArgument(
        `${what}: unknown option ${JSON.stringify(key)}; the options are ${[...known].join(", ")}.`,
      );
    }
  }
  return options;
}

function isAuthInfo(value: unknown): value is AuthInfo {
  const entry = value as AuthInfo | null;
  return (
    typeof entry === "object" &&
    entry !== null &&
    typeof entry.scheme === "string" &&
    entry.scheme !== "" &&
    (typeof entry.auth === "string" || entry.auth instanceof Uint8Array)
  );
}

function milliseconds(value: unknown, name: string, fallback: number, min: number): number {
  return integer(value, name, fallback, min, MAX_TIMER_MS, " ms");
}

function integer(
  value: unknown,
  name: string,
  fallback: number,
  min: number,
  max: number,
  unit = "",
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw badArgument(
      `${name} must be an integer from ${min} to ${max}${unit}; got ${describeValue(value)}.`,
    );
  }
  return value;
}
