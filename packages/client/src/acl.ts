// ACL building blocks: permission bits, the usual lists, and digest identities.
import { createHash } from "node:crypto";
import type { Acl } from "./protocol.js";

/** Permission bits of an {@link Acl} entry (ZooDefs.Perms). */
export const Perms = {
  READ: 1,
  WRITE: 2,
  CREATE: 4,
  DELETE: 8,
  ADMIN: 16,
  ALL: 31,
} as const;

/** Everyone may do everything: ZooKeeper's OPEN_ACL_UNSAFE, the default of `create()`. */
export const OPEN_ACL_UNSAFE: readonly Acl[] = Object.freeze([
  { perms: Perms.ALL, scheme: "world", id: "anyone" },
]);

/** Only the identities the creating session authenticated as (with `addAuth`) may do anything. */
export const CREATOR_ALL_ACL: readonly Acl[] = Object.freeze([{ perms: Perms.ALL, scheme: "auth", id: "" }]);

/** Everyone may read. */
export const READ_ACL_UNSAFE: readonly Acl[] = Object.freeze([
  { perms: Perms.READ, scheme: "world", id: "anyone" },
]);

/**
 * The `digest` id for `user` and `password`, as the server derives it from `addAuth("digest",
 * "user:password")`: `user:base64(sha1("user:password"))`.
 *
 * @example
 * ```ts
 * await zk.setACL("/app", [{ perms: Perms.ALL, scheme: "digest", id: digestId("app", "secret") }]);
 * ```
 */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash("sha1").update(`${user}:${password}`).digest("base64")}`;
}
