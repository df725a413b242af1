import { LockInvalidArgumentError } from "./errors.js";

/** The longest resource name accepted, in UTF-8 bytes. */
export const MAX_RESOURCE_BYTES = 512;

// Bytes that may stand for themselves in a znode name. Everything else, "." and "/" included, is
// percent-encoded, so an encoded name is never "", ".", "..", never contains "/", and is reversible.
const SAFE_BYTE = /^[A-Za-z0-9_~-]$/;
const SAFE_NAME = /^[A-Za-z0-9_~-]+$/;

/**
 * Encodes a resource name into one znode name that cannot reach outside its directory.
 *
 * @example
 * ```ts
 * encodeResource("../../zookeeper"); // "%2E%2E%2F%2E%2E%2Fzookeeper"
 * ```
 */
export function encodeResource(resource: unknown): string {
  if (typeof resource !== "string" || resource.length === 0) {
    throw new LockInvalidArgumentError(
      `The resource must be a non-empty string; got ${describe(resource)}.`,
      typeof resource === "string" ? resource : undefined,
    );
  }
  // Most keys are short and plain: nothing to encode.
  if (resource.length <= MAX_RESOURCE_BYTES && SAFE_NAME.test(resource)) return resource;
  if (!resource.isWellFormed()) {
    throw new LockInvalidArgumentError(
      "The resource contains a lone surrogate and has no UTF-8 form.",
      resource,
    );
  }
  const bytes = Buffer.from(resource, "utf8");
  if (bytes.length > MAX_RESOURCE_BYTES) {
    throw new LockInvalidArgumentError(
      `The resource is ${bytes.length} bytes long; at most ${MAX_RESOURCE_BYTES} UTF-8 bytes are allowed. Hash long keys first.`,
      resource,
    );
  }
  let name = "";
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    name += SAFE_BYTE.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return name;
}

/**
 * Reverses {@link encodeResource}. Throws `INVALID_ARGUMENT` for a name that no resource encodes to
 * (another tool's node, such as `50%off` or `report.daily`).
 */
export function decodeResource(name: string): string {
  const resource = resourceOf(name);
  if (resource === undefined)
    throw new LockInvalidArgumentError(`${describe(name)} is not the znode name of a zk-dist-lock resource.`);
  return resource;
}

/** The resource whose znode name is `name`, or undefined when none encodes to it. */
export function resourceOf(name: string): string | undefined {
  try {
    const resource = decodeURIComponent(name);
    return encodeResource(resource) === name ? resource : undefined;
  } catch {
    // A "%" without two hex digits, bytes that are not UTF-8, or a name longer than any resource's.
    return undefined;
  }
}

/**
 * Checks that `rootDir` is an absolute, normalised ZooKeeper path outside `/zookeeper`, which the
 * server reserves for itself.
 */
export function validateRootDir(rootDir: unknown): string {
  if (typeof rootDir === "string" && validRootDirs.has(rootDir)) return rootDir;
  const fail = (why: string): never => {
    throw new LockInvalidArgumentError(`rootDir ${describe(rootDir)} ${why}.`);
  };
  if (typeof rootDir !== "string") return fail('must be a string such as "/locks"');
  if (!rootDir.startsWith("/") || rootDir === "/")
    return fail('must be an absolute path below "/", such as "/locks"');
  if (rootDir.endsWith("/")) return fail("must not end with a slash");
  for (const segment of rootDir.slice(1).split("/")) {
    if (segment === "" || segment === "." || segment === "..")
      return fail('must not contain "//", "." or ".."');
    // ZooKeeper refuses these characters in paths (PathUtils.validatePath).
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them
    if (/[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/.test(segment)) {
      return fail("contains a character ZooKeeper does not allow in paths");
    }
  }
  if (rootDir === "/zookeeper" || rootDir.startsWith("/zookeeper/")) {
    return fail("lies under /zookeeper, which ZooKeeper reserves for itself");
  }
  if (validRootDirs.size < 100) validRootDirs.add(rootDir);
  return rootDir;
}

// Every lock checks its rootDir; a process uses a handful, so remembering the good ones makes the
// check a lookup on the hot path.
const validRootDirs = new Set<string>();

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (value === null || value === undefined) return String(value);
  return `a ${typeof value === "function" ? "function" : (value.constructor?.name ?? "object")}`;
}
