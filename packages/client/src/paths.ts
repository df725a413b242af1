// Node paths as ZooKeeper accepts them, and the chroot a connect string may carry.
import { badArgument } from "./errors.js";

// Characters the server refuses in a path (PathUtils.validatePath): controls, and the ranges Java
// treats as invalid or private-use.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to refuse
const forbidden = /[\u0000-\u001f\u007f-\u009f\ud800-\uf8ff\ufff0-\uffff]/;

/**
 * Checks a client path: absolute, no empty, `.` or `..` segment, no trailing slash (except for a
 * sequential create, whose name the server completes) and no character the server refuses.
 */
export function validatePath(path: unknown, sequential = false): string {
  if (typeof path !== "string" || path.length === 0) {
    throw badArgument(`A path must be a non-empty string; got ${describeValue(path)}.`);
  }
  const problem = pathProblem(path, sequential);
  if (problem) throw badArgument(`Invalid path "${path}": ${problem}.`, path);
  return path;
}

function pathProblem(path: string, sequential: boolean): string | undefined {
  if (path[0] !== "/") return "it must start with /";
  if (path === "/") return undefined;
  if (path.endsWith("/") && !sequential) return "it must not end with /";
  if (forbidden.test(path)) return "it contains a character ZooKeeper refuses";
  // Every request checks its path: one pass over it, without splitting it into segments.
  if (path.includes("//")) return "it has an empty segment (//)";
  for (let at = path.indexOf("/."); at >= 0; at = path.indexOf("/.", at + 1)) {
    const dots = path[at + 2] === "." ? 2 : 1;
    const next = path[at + 1 + dots];
    if (next === undefined || next === "/") return `it has a relative segment (${".".repeat(dots)})`;
  }
  return undefined;
}

/** A chroot: a path prefix added to every request and removed from every answer. "" for none. */
export class Chroot {
  constructor(readonly prefix: string) {}

  /** The server's path for a client path. */
  toServer(path: string): string {
    if (this.prefix === "") return path;
    return path === "/" ? this.prefix : this.prefix + path;
  }

  /**
   * The client's path for a server path. A path outside the chroot (which a correct server never
   * sends) is returned unchanged rather than mangled.
   */
  toClient(path: string): string {
    if (this.prefix === "") return path;
    if (path === this.prefix) return "/";
    return path.startsWith(`${this.prefix}/`) ? path.slice(this.prefix.length) : path;
  }
}

/** A short description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : (value.constructor?.name ?? "an object");
}
