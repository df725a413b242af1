import { describe, expect, it } from "vitest";
import { LockInvalidArgumentError } from "../errors.js";
import { parseConnectString } from "./connect-string.js";

describe("parseConnectString", () => {
  it.each([
    ["[::1]:2181", "::1"],
    ["::1:2181", "::1"],
    ["[fe80::1%eth0]:2181", "fe80::1%eth0"],
    ["[2001:db8::7]:2181", "2001:db8::7"],
    ["2001:db8::7:2181", "2001:db8::7"],
  ])("reads the IPv6 server %j as host %j, port 2181", (text, host) => {
    expect(parseConnectString(text, "connect").servers).toEqual([{ host, port: 2181 }]);
  });

  it("gives each client its form: bare for the C client, bracketed for @zk-dist-lock/client", () => {
    for (const text of ["[::1]:2181,zk2:2182,10.0.0.3:2183/app", "::1:2181,zk2:2182,10.0.0.3:2183/app"]) {
      const parsed = parseConnectString(text, "connect");
      expect(parsed).toMatchObject({
        text,
        chroot: "/app",
        bare: "::1:2181,zk2:2182,10.0.0.3:2183/app",
        bracketed: "[::1]:2181,zk2:2182,10.0.0.3:2183/app",
      });
    }
  });

  it.each([
    ["[::1]", /gives no port for "\[::1\]"; write "\[::1\]:2181"/],
    ["[::1]2181", /invalid host/],
    ["[::1:2181", /brackets hold an IPv6 address, then :port/],
    ["::1]:2181", /brackets hold an IPv6 address/],
    ["[127.0.0.1]:2181", /brackets hold an IPv6 address/],
    ["[zk1]:2181", /brackets hold an IPv6 address/],
    ["[]:2181", /brackets hold an IPv6 address/],
    ["[::1]:0", /invalid port "0"/],
    ["[::1]:", /invalid port ""/],
    // Without brackets, the port is after the last colon: what is left must be an address.
    ["127.0.0.1:2181:2181", /invalid host "127.0.0.1:2181": a host has no colon/],
    ["localhost:2181:2181", /invalid host "localhost:2181"/],
    ["::1", /invalid host ":"/],
    ["1:2:3:4:5:6:7:8:9:2181", /invalid host "1:2:3:4:5:6:7:8:9"/],
  ])("refuses %j", (text, message) => {
    expect(() => parseConnectString(text, "The connect string")).toThrow(LockInvalidArgumentError);
    expect(() => parseConnectString(text, "The connect string")).toThrow(message);
  });
});
