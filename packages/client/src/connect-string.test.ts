import { describe, expect, it } from "vitest";
import { parseConnectString } from "./connect-string.js";
import { isZooKeeperError } from "./errors.js";

describe("parseConnectString", () => {
  it("reads hosts, ports (2181 by default), IPv6 in brackets and a chroot", () => {
    const parsed = parseConnectString(" zk1:2182, 10.0.0.2 ,[::1]:2183/app/locks");
    expect(parsed.servers).toEqual([
      { host: "zk1", port: 2182 },
      { host: "10.0.0.2", port: 2181 },
      { host: "::1", port: 2183 },
    ]);
    expect(parsed.chroot.prefix).toBe("/app/locks");
    expect(parseConnectString("zk1/").chroot.prefix).toBe("");
  });

  it.each([
    ["", "non-empty string"],
    ["zk1:abc", "the port must be a number"],
    ["zk1:0", "the port must be a number"],
    ["zk1:65536", "the port must be a number"],
    ["zk1:2181,,zk2:2181", "empty entry"],
    ["::1:2181", "IPv6 address must be written in brackets"],
    ["[::1:2181", "closing ]"],
    ["zk1:2181/app/", "must not end with /"],
    ["zk1:2181/app//x", "empty segment"],
    ["zk1 zk2:2181", "invalid host"],
  ])("refuses %j", (value, problem) => {
    let error: unknown;
    try {
      parseConnectString(value);
    } catch (caught) {
      error = caught;
    }
    expect(isZooKeeperError(error, "BADARGUMENTS")).toBe(true);
    expect((error as Error).message).toContain(problem);
  });
});
