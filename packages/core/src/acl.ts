import { createHash } from "node:crypto";
import type { ZkAcl, ZkAuth } from "./session/zk-client.js";

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

/**
 * The authentication that matches {@link digestAcl}: give it as the manager's `auth` option, and
 * the manager adds it to every client it starts (its own, and those that rejoin a session).
 *
 * @example
 * ```ts
 * const manager = await ZkLockManager.connect("zk1:2181", {
 *   auth: [digestAuth("locker", secret)],
 *   acl: [digestAcl("locker", secret), { perms: Perms.READ, scheme: "world", auth: "anyone" }],
 * });
 * ```
 */
export function digestAuth(user: string, password: string): ZkAuth {
  return { scheme: "digest", credentials: `${user}:${password}` };
}
