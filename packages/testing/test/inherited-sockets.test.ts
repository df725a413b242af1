// A server (re)started while a client of the test process is connected must not hold that client's
// socket: the native client opens it without close-on-exec, and a copy left open in a JVM makes the
// binding close the client by itself once its connection drops (see jvm-server.ts).
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type ZooKeeper from "zookeeper";
import { startZooKeeper, type ZooKeeperServer } from "../src/index.js";
import { connectClient } from "./helpers.js";

/** The socket inodes (`socket:[123]`) that process `pid` has open. */
function socketsOf(pid: number | "self"): Set<string> {
  const sockets = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith("socket:")) sockets.add(target);
    } catch {
      // closed meanwhile
    }
  }
  return sockets;
}

describe.skipIf(!existsSync("/proc/self/fd"))("servers started while a client is connected", () => {
  let server: ZooKeeperServer | undefined;
  let other: ZooKeeperServer | undefined;
  let client: ZooKeeper | undefined;

  afterAll(async () => {
    client?.close();
    await Promise.all([server?.stop(), other?.stop()]);
  });

  it("do not inherit the client's socket", async () => {
    server = await startZooKeeper();
    const before = socketsOf("self");
    client = await connectClient(server.connectString);
    const clientSockets = [...socketsOf("self")].filter((socket) => !before.has(socket));
    expect(clientSockets.length).toBeGreaterThan(0);

    other = await startZooKeeper();
    const held = socketsOf(other.pid!);
    expect(clientSockets.filter((socket) => held.has(socket))).toEqual([]);
  });
});
