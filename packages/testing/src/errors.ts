/** What went wrong, for callers that branch on it. */
export type ZooKeeperTestingErrorCode =
  | "ZOOKEEPER_NOT_FOUND"
  | "START_FAILED"
  | "START_TIMEOUT"
  | "PORT_IN_USE"
  | "FOUR_LETTER_FAILED"
  | "INVALID_ARGUMENT"
  | "NOT_RUNNING"
  | "CONNECT_FAILED"
  | "TIMEOUT";

/**
 * The one error class of `@zk-dist-lock/testing`; `code` says what went wrong.
 *
 * @example
 * ```ts
 * try {
 *   await startZooKeeper();
 * } catch (error) {
 *   if (isZooKeeperTestingError(error) && error.code === "START_TIMEOUT") console.error(error.message);
 *   throw error;
 * }
 * ```
 */
export class ZooKeeperTestingError extends Error {
  override name = "ZooKeeperTestingError";
  readonly code: ZooKeeperTestingErrorCode;

  constructor(code: ZooKeeperTestingErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * Thrown when no Java runtime or no ZooKeeper jars were found; the message says how to install them.
 *
 * @example
 * ```ts
 * try {
 *   findZooKeeper();
 * } catch (error) {
 *   if (error instanceof ZooKeeperNotFoundError) console.error(error.message, error.searched);
 * }
 * ```
 */
export class ZooKeeperNotFoundError extends ZooKeeperTestingError {
  override name = "ZooKeeperNotFoundError";
  /** The places that were looked at, in order. */
  readonly searched: readonly string[];

  constructor(message: string, searched: readonly string[]) {
    super("ZOOKEEPER_NOT_FOUND", message);
    this.searched = searched;
  }
}

const errorNames = new Set(["ZooKeeperTestingError", "ZooKeeperNotFoundError"]);

/**
 * Recognises errors of this package by `name` too, so two loaded copies (ESM and CommonJS) agree.
 *
 * @example
 * ```ts
 * if (isZooKeeperTestingError(error) && error.code === "ZOOKEEPER_NOT_FOUND") process.exitCode = 1;
 * ```
 */
export function isZooKeeperTestingError(error: unknown): error is ZooKeeperTestingError {
  return (
    error instanceof ZooKeeperTestingError ||
    (error instanceof Error &&
      errorNames.has(error.name) &&
      typeof (error as { code?: unknown }).code === "string")
  );
}
