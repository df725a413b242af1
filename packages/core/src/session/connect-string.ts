import { LockInvalidArgumentError } from "../errors.js";
import { describe } from "../resource-name.js";

/** A checked ZooKeeper connect string: `host:port[,host:port…][/chroot]`. */
export interface ConnectString {
  /** As given, for messages. */
  readonly text: string;
  /** The servers, in order; an IPv6 host bare, as the C client takes it. */
  readonly servers: readonly { host: string; port: number }[];
  /** The chroot every path is relative to, or undefined for none. */
  readonly chroot: string | undefined;
}

const HOST = /^[A-Za-z0-9._-]+$/;
// The C client splits host from port at the last colon and takes IPv6 addresses without brackets.
const IPV6 = /^[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*$/;
const PORT = /^[0-9]{1,5}$/;
const EXAMPLE = '"zk1:2181,zk2:2181,zk3:2181/app"';

/**
 * Checks a connect string the way the ZooKeeper C client reads it, so that a mistake is refused
 * with a message that names it instead of a client that never connects: every server needs a port
 * (the C client has no default), a URL is not a connect string, and a chroot is an absolute path.
 * `where` names the option in messages.
 */
export function parseConnectString(value: unknown, where: string): ConnectString {
  const fail = (why: string): never => {
    throw new LockInvalidArgumentError(`${where} ${why}`);
  };
  if (typeof value !== "string" || value.trim() === "") {
    return fail(`must be a ZooKeeper connect string such as ${EXAMPLE}; got ${describe(value)}.`);
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) {
    return fail(
      `${describe(value)} is a URL; a ZooKeeper connect string is host:port pairs without a scheme, such as ${EXAMPLE}.`,
    );
  }
  if (/\s/.test(value)) return fail(`${describe(value)} contains white space; write ${EXAMPLE}.`);
  const slash = value.indexOf("/");
  const servers = slash < 0 ? value : value.slice(0, slash);
  const chroot = slash < 0 ? undefined : value.slice(slash);
  const parsed: { host: string; port: number }[] = [];
  for (const server of servers.split(",")) {
    const colon = server.lastIndexOf(":");
    const host = colon < 0 ? server : server.slice(0, colon);
    const port = colon < 0 ? "" : server.slice(colon + 1);
    if (server === "") return fail(`${describe(value)} has an empty server between commas.`);
    if (colon < 0) {
      return fail(
        `${describe(value)} gives no port for ${describe(server)}; write ${describe(`${server}:2181`)}.`,
      );
    }
    if (host.startsWith("[")) {
      return fail(
        `${describe(value)} puts an IPv6 address in brackets; the C client takes it bare: "::1:2181".`,
      );
    }
    if (!HOST.test(host) && !IPV6.test(host)) {
      return fail(`${describe(value)} has an invalid host ${describe(host)}.`);
    }
    if (!PORT.test(port) || Number(port) < 1 || Number(port) > 65_535) {
      return fail(`${describe(value)} has an invalid port ${describe(port)} (1 to 65535).`);
    }
    parsed.push({ host, port: Number(port) });
  }
  // The C client, like Java's, reads a chroot of "/" as none.
  if (chroot === undefined || chroot === "/") return { text: value, servers: parsed, chroot: undefined };
  if (
    chroot.endsWith("/") ||
    chroot
      .split("/")
      .slice(1)
      .some((s) => s === "" || s === "." || s === "..")
  ) {
    return fail(
      `${describe(value)} has an invalid chroot ${describe(chroot)}: an absolute path such as "/app".`,
    );
  }
  return { text: value, servers: parsed, chroot };
}
