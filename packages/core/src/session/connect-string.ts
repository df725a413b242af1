import { isIPv6 } from "node:net";
import { LockInvalidArgumentError } from "../errors.js";
import { describe } from "../resource-name.js";

/** A checked ZooKeeper connect string: `host:port[,host:port…][/chroot]`. */
export interface ConnectString {
  /** As given, for messages. */
  readonly text: string;
  /** The servers, in order; an IPv6 host without brackets. */
  readonly servers: readonly { host: string; port: number }[];
  /** The chroot every path is relative to, or undefined for none. */
  readonly chroot: string | undefined;
  /** The connect string as the C client of the npm binding reads it: IPv6 addresses bare. */
  readonly bare: string;
  /** The connect string as @zk-dist-lock/client (and Java) reads it: IPv6 addresses in brackets. */
  readonly bracketed: string;
}

const HOST = /^[A-Za-z0-9._-]+$/;
const PORT = /^[0-9]{1,5}$/;
const EXAMPLE = '"zk1:2181,zk2:2181,zk3:2181/app"';

/**
 * Checks a connect string, so that a mistake is refused with a message that names it instead of a
 * client that never connects: every server needs a port (the C client has no default), a URL is
 * not a connect string, and a chroot is an absolute path. An IPv6 address is written in brackets,
 * `[::1]:2181`, as the Java client, Curator and @zk-dist-lock/client take it, or bare, `::1:2181`,
 * as the C client takes it (the port after the last colon); either form works on both clients,
 * each given its own (`bare`, `bracketed`). `where` names the option in messages.
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
    // "[::1]" has colons, but within its brackets.
    if (colon < 0 || server.endsWith("]")) {
      return fail(
        `${describe(value)} gives no port for ${describe(server)}; write ${describe(`${server}:2181`)}.`,
      );
    }
    const bracketed = host.startsWith("[");
    if (bracketed ? !host.endsWith("]") || !isIPv6(host.slice(1, -1)) : host.includes("]")) {
      return fail(
        `${describe(value)} has an invalid host ${describe(host)}: brackets hold an IPv6 address, then :port, such as "[::1]:2181".`,
      );
    }
    // Without brackets, an IPv6 address ends at the last colon, as the C client and Java's
    // ConnectStringParser split host from port: "127.0.0.1:2181:2181" leaves no address.
    if (!bracketed && host.includes(":") && !isIPv6(host)) {
      return fail(
        `${describe(value)} has an invalid host ${describe(host)}: a host has no colon, and an IPv6 address needs its port, as in "[::1]:2181".`,
      );
    }
    if (!bracketed && !HOST.test(host) && !isIPv6(host)) {
      return fail(`${describe(value)} has an invalid host ${describe(host)}.`);
    }
    if (!PORT.test(port) || Number(port) < 1 || Number(port) > 65_535) {
      return fail(`${describe(value)} has an invalid port ${describe(port)} (1 to 65535).`);
    }
    parsed.push({ host: bracketed ? host.slice(1, -1) : host, port: Number(port) });
  }
  const text = (format: (host: string) => string) =>
    parsed.map(({ host, port }) => `${format(host)}:${port}`).join(",") + (chroot ?? "");
  const forms = {
    bare: text((host) => host),
    bracketed: text((host) => (host.includes(":") ? `[${host}]` : host)),
  };
  // The C client, like Java's, reads a chroot of "/" as none.
  if (chroot === undefined || chroot === "/")
    return { text: value, servers: parsed, chroot: undefined, ...forms };
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
  return { text: value, servers: parsed, chroot, ...forms };
}
