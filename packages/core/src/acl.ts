import { createHash } from "node:crypto";
import type { ZkAcl } from "./session/zk-client.js";

/** ZooKeeper's permission bits, to combine with `|`. */
export const Perms = { READ: 1, WRITE: 2, CREATE: 4, DELETE: 8, ADMIN: 16, ALL: 31 } as const;

/**
 * An ACL entry for ZooKeeper's digest scheme: `user` authenticated with `password` (through
 * `client.add_auth("digest", "user:password", cb)`) gets `perms`.
 *
 * @example
 * ```ts
 * const manager = new ZkLockManager({
 *   acl: [digestAcl("locker", secret), { perms: Perms.READ, scheme: "world", auth: "anyone" }],
 * });
 * ```
 */
export function digestAcl(user: string, password: string, perms: number = Perms.ALL): ZkAcl {
  const digest = createHash("sha1").update(`${user}:${password}`).digest("base64");
  return { perms, scheme: "digest", auth: `${user}:${digest}` };
}
