// A directory whose listing is larger than the client reads (maxPacketBytes, like the Java client's
// jute.maxbuffer): the listing fails once with a typed error, and the connection, the session and
// its holds stay. The client used to drop the connection for such a reply, and every retry of the
// listing after the reconnect dropped it again: a reconnect storm that suspended every hold.
import { ZooKeeperClient } from "@zk-dist-lock/client";
import { afterEach, describe, expect, inject, it } from "vitest";
import {
  type ConnectionStateChange,
  encodeResource,
  isLockError,
  type ZkLock,
  ZkLockManager,
} from "../src/index.js";
import { uniqueRoot } from "./support/client.js";
import { onBinding } from "./support/kind.js";
import { closeClients, connectClient } from "./support/zk.js";

const connect = inject("zkConnect");
const MAX_PACKET_BYTES = 64 * 1024;

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
  closeClients();
});

/** `rootDir` with resources whose names add up to more than MAX_PACKET_BYTES, created in one pipeline. */
async function wideRoot(rootDir: string): Promise<string[]> {
  const admin = new ZooKeeperClient(connect);
  opened.push(admin);
  await admin.start();
  await admin.create(rootDir);
  const resources = Array.from(
    { length: 400 },
    (_, i) => `job-${String(i).padStart(3, "0")}-${"r".repeat(200)}`,
  );
  await Promise.all(resources.map((resource) => admin.create(`${rootDir}/${encodeResource(resource)}`)));
  return resources;
}

/** A manager on a client that reads replies of up to MAX_PACKET_BYTES (the binding has no such limit). */
async function smallManager() {
  let listings = 0;
  let zk: unknown;
  if (onBinding) {
    zk = (await connectClient(connect)).zk;
  } else {
    const client = new ZooKeeperClient(connect, { maxPacketBytes: MAX_PACKET_BYTES });
    opened.push(client);
    await client.start();
    const getChildren = client.getChildren.bind(client);
    client.getChildren = (...args) => {
      listings++;
      return getChildren(...args);
    };
    zk = client;
  }
  const manager = new ZkLockManager().init(zk as ZooKeeperClient);
  opened.push(manager);
  const states: ConnectionStateChange[] = [];
  manager.on("connectionState", (change) => states.push(change));
  return { manager, states, listings: () => listings };
}

describe("a directory too large to list", () => {
  it("fails a listing once with a typed error; the connection, the session and the holds stay", async () => {
    const wide = uniqueRoot("wide");
    const resources = await wideRoot(wide);
    const { manager, states, listings } = await smallManager();
    const locks = uniqueRoot("locks");
    const lock: ZkLock = manager.createLock("held", { rootDir: locks });
    const token = await lock.acquire();
    const suspended: unknown[] = [];
    manager.on("suspended", (event) => suspended.push(event));

    if (onBinding) {
      // The C client reads a reply of any length (it allocates what the length prefix says).
      expect((await manager.resources({ rootDir: wide })).sort()).toEqual(resources);
      return;
    }
    const listedBefore = listings();
    // A deadline the listing would run into, were it retried after reconnects.
    const failure = await manager.resources({ rootDir: wide, timeout: 10_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isLockError(failure, "ZOOKEEPER")).toBe(true);
    expect(failure).toMatchObject({ rc: -5, path: wide });
    expect((failure as Error).message).toMatch(
      /MARSHALLINGERROR \(-5\) for \/wide-\w+: getChildren \/wide-\w+: the reply from \S+ takes \d+ bytes, more than maxPacketBytes \(65536\)/,
    );
    expect(listings() - listedBefore).toBe(1);

    // Nothing else noticed: no state change, the hold goes on, and the next listing works.
    expect(await manager.resources({ rootDir: locks })).toEqual(["held"]);
    expect(states).toEqual([]);
    expect(suspended).toEqual([]);
    expect(lock.state).toBe("held");
    expect(lock.signal.aborted).toBe(false);
    expect(lock.token).toBe(token);
    await lock.release();
  });
});
