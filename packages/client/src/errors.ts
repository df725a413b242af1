/**
 * ZooKeeper's result codes (`KeeperException.Code` of the Java client), plus `CLOSING` (-116) of the
 * C client for calls on a client that is being or has been closed.
 */
export const resultCodes = {
  OK: 0,
  SYSTEMERROR: -1,
  RUNTIMEINCONSISTENCY: -2,
  DATAINCONSISTENCY: -3,
  CONNECTIONLOSS: -4,
  MARSHALLINGERROR: -5,
  UNIMPLEMENTED: -6,
  OPERATIONTIMEOUT: -7,
  BADARGUMENTS: -8,
  UNKNOWNSESSION: -12,
  NEWCONFIGNOQUORUM: -13,
  RECONFIGINPROGRESS: -14,
  APIERROR: -100,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  SESSIONEXPIRED: -112,
  INVALIDCALLBACK: -113,
  INVALIDACL: -114,
  AUTHFAILED: -115,
  CLOSING: -116,
  SESSIONMOVED: -118,
  NOTREADONLY: -119,
  EPHEMERALONLOCALSESSION: -120,
  NOWATCHER: -121,
  REQUESTTIMEOUT: -122,
  RECONFIGDISABLED: -123,
  SESSIONCLOSEDREQUIRESASLAUTH: -124,
  QUOTAEXCEEDED: -125,
  THROTTLEDOP: -127,
} as const;

/** The name of a ZooKeeper result code other than OK, e.g. `"NONODE"`. */
export type ZooKeeperErrorCode = Exclude<keyof typeof resultCodes, "OK">;

const codeNames = new Map<number, ZooKeeperErrorCode>(
  Object.entries(resultCodes)
    .filter(([name]) => name !== "OK")
    .map(([name, rc]) => [rc, name as ZooKeeperErrorCode]),
);

/** Options of a {@link ZooKeeperError}. */
export interface ZooKeeperErrorOptions {
  /** The (client-side) path of the failed operation. */
  path?: string | undefined;
  cause?: unknown;
}

/**
 * The one error class of this client. `code` is the name of ZooKeeper's result code and `rc` its
 * number, so `NONODE` is -101 as in every ZooKeeper client. Errors the client finds itself use the
 * same codes: `BADARGUMENTS` for invalid input (nothing was sent), `CONNECTIONLOSS` when the
 * connection dropped with the request in flight (it may or may not have been applied),
 * `MARSHALLINGERROR` for a reply that could not be decoded or was longer than `maxPacketBytes`
 * (only that request fails then; the connection goes on), `OPERATIONTIMEOUT` when `connect()`
 * gave up, `SESSIONEXPIRED`, `AUTHFAILED` and `CLOSING` once the session is over.
 * Recognise it with {@link isZooKeeperError}, which also works across two loaded copies.
 *
 * @example
 * ```ts
 * try {
 *   await zk.create("/app", "x");
 * } catch (error) {
 *   if (!isZooKeeperError(error, "NODEEXISTS")) throw error;
 * }
 * ```
 */
export class ZooKeeperError extends Error {
  override name = "ZooKeeperError";
  readonly code: ZooKeeperErrorCode;
  /** ZooKeeper's number for {@link code}, e.g. -101 for `NONODE`. */
  readonly rc: number;
  /** The path of the failed operation, when there was one. */
  readonly path: string | undefined;

  constructor(code: ZooKeeperErrorCode, message: string, options: ZooKeeperErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.rc = resultCodes[code];
    this.path = options.path;
  }

  /**
   * The error for a result code a server sent. An unknown code keeps its number in the message
   * and counts as `SYSTEMERROR`, since a newer server may know codes this client does not.
   */
  static fromResult(rc: number, operation: string, path?: string): ZooKeeperError {
    const code = codeNames.get(rc);
    const name = code ?? `an unknown result code (${rc})`;
    return new ZooKeeperError(
      code ?? "SYSTEMERROR",
      `ZooKeeper answered ${name}${code ? ` (${rc})` : ""} to ${operation}${path === undefined ? "" : ` ${path}`}.`,
      { path },
    );
  }
}

/** One operation's outcome in a failed {@link ZooKeeperClient.multi}. */
export interface MultiOpOutcome {
  /** `"OK"` for an operation that would have succeeded; the failing one has its own code. */
  code: ZooKeeperErrorCode | "OK";
  rc: number;
}

/**
 * A `multi()` that the server refused as a whole: nothing was applied. `code` is the first failing
 * operation's, `index` its position, `outcomes` what ZooKeeper said about every operation (those
 * after the failing one are `RUNTIMEINCONSISTENCY`: not tried).
 */
export class ZooKeeperMultiError extends ZooKeeperError {
  override name = "ZooKeeperMultiError";

  constructor(
    code: ZooKeeperErrorCode,
    message: string,
    readonly index: number,
    readonly outcomes: readonly MultiOpOutcome[],
    path: string | undefined,
  ) {
    super(code, message, { path });
  }
}

/** The name of a result code, `"OK"` for 0 and `"SYSTEMERROR"` for one this client does not know. */
export function codeName(rc: number): ZooKeeperErrorCode | "OK" {
  return rc === 0 ? "OK" : (codeNames.get(rc) ?? "SYSTEMERROR");
}

const errorNames = new Set(["ZooKeeperError", "ZooKeeperMultiError"]);

/**
 * Whether `error` is a {@link ZooKeeperError} (optionally with the given code). It checks the name
 * rather than the prototype, so errors from another loaded copy of the package count too.
 *
 * @example
 * ```ts
 * if (isZooKeeperError(error, "CONNECTIONLOSS")) await retryLater();
 * ```
 */
export function isZooKeeperError(error: unknown, code?: ZooKeeperErrorCode): error is ZooKeeperError {
  if (!(error instanceof Error) || !errorNames.has(error.name)) return false;
  return code === undefined || (error as ZooKeeperError).code === code;
}

/** Refuses bad input before anything is sent. */
export function badArgument(message: string, path?: string): ZooKeeperError {
  return new ZooKeeperError("BADARGUMENTS", message, { path });
}
