// "host1:2181,host2:2181/chroot": the servers to try and the chroot every path lives under.
import { badArgument } from "./errors.js";
import { Chroot, describeValue, validatePath } from "./paths.js";

const DEFAULT_PORT = 2181;

/** One server of a connect string. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** A parsed connect string. */
export interface ConnectString {
  servers: ServerAddress[];
  chroot: Chroot;
}

/**
 * Parses a connect string, refusing a malformed one before any I/O. Hosts are names, IPv4
 * addresses or bracketed IPv6 addresses (`[::1]:2181`); the port defaults to 2181.
 */
export function parseConnectString(value: unknown): ConnectString {
  if (typeof value !== "string" || value.trim() === "") {
    throw badArgument(
      `A connect string must be a non-empty string such as "host1:2181,host2:2181/chroot"; got ${describeValue(value)}.`,
    );
  }
  const slash = value.indexOf("/");
  const hostList = slash === -1 ? value : value.slice(0, slash);
  const chrootPath = slash === -1 ? "" : value.slice(slash);
  if (chrootPath !== "") {
    try {
      validatePath(chrootPath);
    } catch (error) {
      throw badArgument(`Invalid chroot in connect string "${value}": ${(error as Error).message}`);
    }
  }
  const servers = hostList.split(",").map((entry) => parseServer(entry.trim(), value));
  return { servers, chroot: new Chroot(chrootPath === "/" ? "" : chrootPath) };
}

function parseServer(entry: string, whole: string): ServerAddress {
  const fail = (problem: string) =>
    badArgument(`Invalid server "${entry}" in connect string "${whole}": ${problem}.`);
  if (entry === "") throw fail("empty entry");
  let host: string;
  let portText: string | undefined;
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]");
    if (close === -1) throw fail("an IPv6 address needs a closing ]");
    host = entry.slice(1, close);
    const rest = entry.slice(close + 1);
    if (rest !== "" && !rest.startsWith(":")) throw fail("expected :port after ]");
    portText = rest === "" ? undefined : rest.slice(1);
  } else {
    const parts = entry.split(":");
    if (parts.length > 2) throw fail("an IPv6 address must be written in brackets, [::1]:2181");
    host = parts[0]!;
    portText = parts[1];
  }
  if (host === "" || /[\s/]/.test(host)) throw fail("missing or invalid host");
  const port = portText === undefined ? DEFAULT_PORT : Number(portText);
  if (!/^\d+$/.test(portText ?? "2181") || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw fail("the port must be a number from 1 to 65535");
  }
  return { host, port };
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatServer({ host, port }: ServerAddress): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
