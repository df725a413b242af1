import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { digestAcl, digestAuth, Perms, type ZkClient, ZkLockManager } from "../src/index.js";
import { openManager, uniqueRoot } from "./support/client.js";
import { closeClients, connectClient } from "./support/zk.js";

const connect = inject("zkConnect");
const acl = [digestAcl("locker", "s3cret"), { perms: Perms.READ, scheme: "world", auth: "anyone" }];

const authenticated = async (): Promise<ZkClient> =>
  (await connectClient(connect, 10_000, digestAuth("locker", "s3cret"))).zk;

let stranger: Awaited<ReturnType<typeof openManager>>;
beforeAll(async () => {
  stranger = await openManager(connect);
});
afterAll(async () => {
  await stranger.close();
  closeClients();
});

describe("ACLs on the nodes the manager creates", () => {
  it("keep a client without the digest from deleting a holder's node or joining the queue", async () => {
    const rootDir = uniqueRoot();
    const manager = new ZkLockManager({ rootDir, acl }).init(await authenticated());
    const lock = manager.createLock("guarded");
    const token = await lock.acquire();
    const node = lock.nodePath!;

    const NOAUTH = -102;
    expect(await stranger.client.deleteRc(node)).toBe(NOAUTH);
    expect(await stranger.client.deleteRc(lock.path)).toBe(NOAUTH);
    expect(await stranger.client.createRc(`${lock.path}/intruder`)).toBe(NOAUTH);
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
