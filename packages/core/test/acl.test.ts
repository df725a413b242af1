import { connectZooKeeper } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type ZooKeeper from "zookeeper";
import { digestAcl, Perms, ZkLockManager } from "../src/index.js";
import { openManager, uniqueRoot } from "./support/client.js";

const connect = inject("zkConnect");
const acl = [digestAcl("locker", "s3cret"), { perms: Perms.READ, scheme: "world", auth: "anyone" }];
const clients: ZooKeeper[] = [];

async function authenticated(): Promise<ZooKeeper> {
  const client = await connectZooKeeper(connect);
  clients.push(client);
  await new Promise<void>((resolve, reject) =>
    client.add_auth("digest", "locker:s3cret", (rc, error) =>
      rc === 0 ? resolve() : reject(new Error(String(error))),
    ),
  );
  return client;
}

const rcOf = (send: (cb: (rc: number) => void) => void) => new Promise<number>((resolve) => send(resolve));

let stranger: Awaited<ReturnType<typeof openManager>>;
beforeAll(async () => {
  stranger = await openManager(connect);
});
afterAll(async () => {
  await stranger.close();
  for (const client of clients) client.close();
});

describe("ACLs on the nodes the manager creates", () => {
  it("keep a client without the digest from deleting a holder's node or joining the queue", async () => {
    const rootDir = uniqueRoot();
    const manager = new ZkLockManager({ rootDir, acl }).init(await authenticated());
    const lock = manager.createLock("guarded");
    const token = await lock.acquire();
    const node = lock.nodePath!;

    const NOAUTH = -102;
    expect(await rcOf((cb) => stranger.client.a_delete_(node, -1, cb))).toBe(NOAUTH);
    expect(await rcOf((cb) => stranger.client.a_delete_(lock.path, -1, cb))).toBe(NOAUTH);
    expect(await rcOf((cb) => stranger.client.a_create(`${lock.path}/intruder`, "", 0, cb))).toBe(NOAUTH);
    const refused = await stranger.manager
      .createLock("guarded", { rootDir })
      .acquire({ timeout: 0 })
      .catch((e) => e);
    expect(refused).toMatchObject({ code: "ZOOKEEPER", resource: "guarded" });
    expect((refused as Error).message).toMatch(/not authenticated|NOAUTH|-102/i);

    // Reading stays open to everyone, as the ACL says: operators can inspect.
    const seen = await stranger.manager.inspect("guarded", { rootDir });
    expect(seen.holder?.node).toBe(node.split("/").pop());

    // Another session with the digest takes its turn normally.
    const peer = new ZkLockManager({ rootDir, acl }).init(await authenticated());
    const peerLock = peer.createLock("guarded");
    const next = peerLock.acquire();
    await lock.release();
    expect(await next).toBeGreaterThan(token);
    await peerLock.release();
  });
});
