// A server that listens on ::1 only, reached with the bracketed form Java and Curator write.
import { fourLetter, startZooKeeper, type ZooKeeperServer } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { isZooKeeperError, ZooKeeperClient } from "../src/index.js";
import { rejection } from "./support/clients.js";

let server: ZooKeeperServer;
beforeAll(async () => {
  server = await startZooKeeper({ host: "::1" });
});
afterAll(() => server?.stop());

it("connects to [::1]:port over IPv6, with a chroot too", async () => {
  const connectString = `[::1]:${server.port}`;
  expect(server.connectString).toBe(connectString);
  const client = await ZooKeeperClient.connect(connectString, { connectTimeout: 15_000 });
  try {
    await client.create("/ipv6", "");
    const chrooted = await ZooKeeperClient.connect(`${connectString}/ipv6`, { connectTimeout: 15_000 });
    await chrooted.create("/inside", "");
    expect((await client.getChildren("/ipv6")).children).toEqual(["inside"]);
    const sid = client.sessionIdHex.replace(/^0x0*/, "");
    expect(await fourLetter("::1", server.port, "cons")).toMatch(
      new RegExp(`/\\[0:0:0:0:0:0:0:1\\]:\\d+[^\\n]*sid=0x0*${sid}\\b`),
    );
    await chrooted.close();
  } finally {
    await client.close();
  }
});

it("refuses the bare form, whose port could be the address's last group, before any I/O", async () => {
  const error = await rejection(ZooKeeperClient.connect(`::1:${server.port}`));
  expect(isZooKeeperError(error, "BADARGUMENTS"), String(error)).toBe(true);
  expect((error as Error).message).toMatch(/an IPv6 address must be written in brackets, \[::1\]:2181/);
});
