// The operations against a real server: CRUD, create modes, multi, ACLs and auth, chroot, sync.
import { startZooKeeper, waitFor, type ZooKeeperServer } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import {
  CREATOR_ALL_ACL,
  digestId,
  isZooKeeperError,
  OPEN_ACL_UNSAFE,
  Perms,
  READ_ACL_UNSAFE,
  ZooKeeperClient,
  ZooKeeperMultiError,
} from "../src/index.js";
import { connect, freshChroot, recordStates, rejection } from "./support/clients.js";

let chroot: string;
let zk: ZooKeeperClient;

beforeEach(async () => {
  chroot = await freshChroot();
  zk = await connect(chroot);
});

describe("create, read, update, delete", () => {
  it("creates a node and returns its path and stat (create2)", async () => {
    const { path, stat } = await zk.create("/node", "hello");
    expect(path).toBe("/node");
    expect(typeof stat.czxid).toBe("bigint");
    expect(stat.czxid).toBeGreaterThan(0n);
    expect(stat).toMatchObject({ version: 0, dataLength: 5, numChildren: 0, ephemeralOwner: 0n });
    expect(stat.czxid).toBe(stat.mzxid);

    const read = await zk.getData("/node");
    expect(read.data.toString()).toBe("hello");
    expect(read.stat).toEqual(stat);
  });

  it("sets data with and without a version, and refuses a stale one", async () => {
    await zk.create("/node", Buffer.from([0, 1, 2]));
    const first = await zk.setData("/node", "v1", 0);
    expect(first.version).toBe(1);
    expect(first.mzxid).toBeGreaterThan(first.czxid);
    expect(isZooKeeperError(await rejection(zk.setData("/node", "v2", 0)), "BADVERSION")).toBe(true);
    expect((await zk.setData("/node", "v2")).version).toBe(2);
    expect((await zk.getData("/node")).data.toString()).toBe("v2");
  });

  it("reports a missing node as NONODE (-101) and an existing one as NODEEXISTS (-110)", async () => {
    const missing = await rejection(zk.getData("/missing"));
    expect(missing).toMatchObject({ name: "ZooKeeperError", code: "NONODE", rc: -101, path: "/missing" });
    expect(missing.message).toBe("ZooKeeper answered NONODE (-101) to getData /missing.");
    await zk.create("/node");
    expect(await rejection(zk.create("/node"))).toMatchObject({ code: "NODEEXISTS", rc: -110 });
    expect(await rejection(zk.create("/missing/child"))).toMatchObject({ code: "NONODE" });
  });

  it("exists returns the stat, or null for a missing node", async () => {
    expect(await zk.exists("/node")).toBeNull();
    const { stat } = await zk.create("/node");
    expect(await zk.exists("/node")).toEqual(stat);
  });

  it("lists children with the parent's stat (getChildren2)", async () => {
    await zk.create("/parent");
    await zk.create("/parent/a");
    await zk.create("/parent/b");
    const { children, stat } = await zk.getChildren("/parent");
    expect(children.sort()).toEqual(["a", "b"]);
    expect(stat.numChildren).toBe(2);
    expect(stat.cversion).toBe(2);
  });

  it("deletes with a version check, and refuses a node with children", async () => {
    await zk.create("/node");
    await zk.create("/node/child");
    expect(await rejection(zk.delete("/node"))).toMatchObject({ code: "NOTEMPTY", rc: -111 });
    expect(await rejection(zk.delete("/node/child", 3))).toMatchObject({ code: "BADVERSION" });
    await zk.delete("/node/child", 0);
    await zk.delete("/node");
    expect(await zk.exists("/node")).toBeNull();
  });

  it("keeps replies in request order when many requests are in flight", async () => {
    const created = await Promise.all(Array.from({ length: 200 }, (_, i) => zk.create(`/n${i}`, String(i))));
    expect(created.map((c) => c.path)).toEqual(Array.from({ length: 200 }, (_, i) => `/n${i}`));
    // One server applies one session's writes in order: the zxids grow with the requests.
    const zxids = created.map((c) => c.stat.czxid);
    expect([...zxids].sort((a, b) => (a < b ? -1 : 1))).toEqual(zxids);
    expect(zk.lastZxid).toBe(zxids.at(-1));
  });

  it("refuses bad arguments before sending anything", async () => {
    for (const call of [
      () => zk.create("relative"),
      () => zk.create("/a/", "x"),
      () => zk.create("/a", 42 as unknown as string),
      () => zk.create("/a", "", { mode: "temporary" as never }),
      () => zk.create("/a", "", { mode: "persistentWithTtl" }),
      () => zk.create("/a", "", { ttl: 1000 }),
      () => zk.create("/a", "", { acl: [] }),
      () => zk.delete("/a", 1.5),
      () => zk.getData("/a", { watcher: "no" as never }),
    ]) {
      let error: unknown;
      try {
        call();
      } catch (caught) {
        error = caught;
      }
      expect(isZooKeeperError(error, "BADARGUMENTS")).toBe(true);
    }
    // Thrown synchronously, before a request exists: nothing reached the server.
    expect((await zk.getChildren("/")).children).toEqual([]);
  });

  it("refuses data larger than maxRequestBytes rather than have the server drop the connection", async () => {
    const small = await connect(chroot, { maxRequestBytes: 2048 });
    const error = await rejection(small.create("/big", Buffer.alloc(4096)));
    expect(error).toMatchObject({ code: "BADARGUMENTS" });
    expect(error.message).toContain("more than maxRequestBytes (2048");
    expect(small.state).toBe("connected");
  });
});

describe("requests larger than the servers' jute.maxbuffer", () => {
  // ZooKeeper's default jute.maxbuffer: the server drops a connection whose request is longer.
  const JUTE_MAXBUFFER = 0xfffff;

  it("are refused before they are sent, up to the byte; one of exactly the limit is applied", async () => {
    await zk.create("/big", "before");
    // Under maxPacketBytes (what the client accepts from a server), over the server's limit.
    const over = await rejection(zk.setData("/big", Buffer.alloc(JUTE_MAXBUFFER)));
    expect(over).toMatchObject({ code: "BADARGUMENTS", path: "/big" });
    const taken = Number(/the request takes (\d+) bytes/.exec(over.message)?.[1]);
    expect(over.message).toContain(`more than maxRequestBytes (${JUTE_MAXBUFFER}`);
    // Refused, not sent: the session's connection is the same one, and the node unchanged.
    expect(zk.state).toBe("connected");
    expect((await zk.getData("/big")).data.toString()).toBe("before");

    // The same request with its data cut to fit the limit exactly goes through.
    const fits = Buffer.alloc(JUTE_MAXBUFFER - (taken - JUTE_MAXBUFFER), 7);
    await zk.setData("/big", fits);
    expect((await zk.getData("/big")).stat.dataLength).toBe(fits.length);
    const oneMore = await rejection(zk.setData("/big", Buffer.alloc(fits.length + 1)));
    expect(oneMore.message).toContain(`the request takes ${JUTE_MAXBUFFER + 1} bytes`);
    // multi is one request too.
    const inMulti = await rejection(
      zk.multi([
        { type: "setData", path: "/big", data: Buffer.alloc(fits.length) },
        { type: "check", path: "/big", version: -1 },
      ]),
    );
    expect(inMulti).toMatchObject({ code: "BADARGUMENTS" });
    expect(zk.state).toBe("connected");
  });

  it("go through with maxRequestBytes raised to a server's larger jute.maxbuffer", async () => {
    const limit = 2 * 1024 * 1024;
    const server = await startZooKeeper({ systemProperties: { "jute.maxbuffer": limit } });
    try {
      const big = await connect(server.connectString, {
        maxRequestBytes: limit,
        maxPacketBytes: limit + 64 * 1024,
      });
      const data = Buffer.alloc(limit - 4096, 1);
      await big.create("/big", data);
      expect((await big.getData("/big")).data.equals(data)).toBe(true);
      const over = await rejection(big.setData("/big", Buffer.alloc(limit)));
      expect(over.message).toContain(`more than maxRequestBytes (${limit}`);
      await big.close();
    } finally {
      await server.stop();
    }
  });

  it("refuses a maxRequestBytes that is not a whole number of bytes", () => {
    for (const maxRequestBytes of [0, 100.5, -1, "1048575"]) {
      expect(() => new ZooKeeperClient("127.0.0.1:2181", { maxRequestBytes } as never)).toThrowError(
        expect.objectContaining({
          code: "BADARGUMENTS",
          message: expect.stringContaining("maxRequestBytes"),
        }),
      );
    }
  });
});

describe("replies larger than maxPacketBytes", () => {
  const LIMIT = 64 * 1024;

  /** `/wide` with children whose names add up to more than LIMIT, created in one pipeline. */
  async function wideDirectory(): Promise<string[]> {
    await zk.create("/wide");
    const names = Array.from({ length: 400 }, (_, i) => `${String(i).padStart(3, "0")}-${"n".repeat(200)}`);
    await Promise.all(names.map((name) => zk.create(`/wide/${name}`)));
    return names;
  }

  it("fail only their request, naming the size, the limit and the path; the connection stays", async () => {
    const names = await wideDirectory();
    const small = await connect(chroot, { maxPacketBytes: LIMIT });
    const states = recordStates(small);
    const session = small.sessionId;

    const error = await rejection(small.getChildren("/wide"));
    expect(error).toMatchObject({ name: "ZooKeeperError", code: "MARSHALLINGERROR", path: "/wide" });
    const size = Number(/takes (\d+) bytes/.exec(error.message)?.[1]);
    expect(size).toBeGreaterThan(LIMIT);
    expect(error.message).toMatch(
      /^getChildren \/wide: the reply from \S+ takes \d+ bytes, more than maxPacketBytes \(65536\)/,
    );

    // The same connection serves the next requests: no state change, the same session.
    expect((await small.getChildren("/")).children).toContain("wide");
    expect(await rejection(small.getChildren("/wide"))).toMatchObject({ code: "MARSHALLINGERROR" });
    await small.sync("/");
    expect(states).toEqual([]);
    expect(small.state).toBe("connected");
    expect(small.sessionId).toBe(session);
    // A client with the default limit reads the whole listing.
    expect((await zk.getChildren("/wide")).children.sort()).toEqual(names);
  });

  it("keeps the watch events and replies after a skipped one in order", async () => {
    await wideDirectory();
    const small = await connect(chroot, { maxPacketBytes: LIMIT });
    await small.create("/watched", "1");
    const order: string[] = [];
    await small.getData("/watched", { watcher: ({ type }) => order.push(`watch ${type}`) });
    // One pipeline: the listing's reply is skipped as it streams in, the setData's watch event
    // (sent before its reply) and the replies after it come through in the server's order.
    const calls = [
      small.getChildren("/wide").then(
        () => order.push("listed"),
        (error: Error) => order.push(`listing failed: ${(error as { code?: string }).code}`),
      ),
      small.setData("/watched", "2").then(() => order.push("setData")),
      small.getData("/watched").then(({ data }) => order.push(`getData ${data}`)),
      small.getChildren("/").then(({ children }) => order.push(`listed / (${children.length})`)),
    ];
    await Promise.all(calls);
    expect(order).toEqual([
      "listing failed: MARSHALLINGERROR",
      "watch dataChanged",
      "setData",
      "getData 2",
      "listed / (2)",
    ]);
    expect(small.state).toBe("connected");
  });
});

describe("create modes", () => {
  it("sequential nodes get a 10-digit counter; ephemeral ones belong to the session", async () => {
    await zk.create("/queue");
    const first = await zk.create("/queue/item-", "", { mode: "persistentSequential" });
    const second = await zk.create("/queue/item-", "", { mode: "ephemeralSequential" });
    expect(first.path).toMatch(/^\/queue\/item-\d{10}$/);
    expect(Number(second.path.slice(-10))).toBe(Number(first.path.slice(-10)) + 1);
    expect(second.stat.ephemeralOwner).toBe(zk.sessionId);
    expect(first.stat.ephemeralOwner).toBe(0n);
  });

  it("an ephemeral node goes with its session; the session id is an exact bigint", async () => {
    const owner = await connect(chroot);
    const { stat } = await owner.create("/ephemeral", "", { mode: "ephemeral" });
    expect(stat.ephemeralOwner).toBe(owner.sessionId);
    expect(owner.sessionIdHex).toBe(`0x${owner.sessionId.toString(16)}`);
    // Session ids start with the server id in the top byte: far beyond 2^53.
    expect(owner.sessionId).toBeGreaterThan(2n ** 53n);
    expect(await rejection(owner.create("/ephemeral/child"))).toMatchObject({
      code: "NOCHILDRENFOREPHEMERALS",
    });
    await owner.close();
    expect(await zk.exists("/ephemeral")).toBeNull();
  });
});

describe("container and TTL nodes", () => {
  let server: ZooKeeperServer;
  let client: ZooKeeperClient;

  beforeAll(async () => {
    server = await startZooKeeper({
      containerCheckIntervalMs: 100,
      systemProperties: { "zookeeper.extendedTypesEnabled": true },
    });
  });
  afterAll(() => server.stop());
  beforeEach(async () => {
    client = await connect(server.connectString);
  });

  it("the server deletes a container once its last child is gone", async () => {
    const { path } = await client.create(`/container-${Date.now()}`, "", { mode: "container" });
    await client.create(`${path}/child`);
    await client.delete(`${path}/child`);
    await waitFor(async () => (await client.exists(path)) === null, { message: "the container to go" });
  });

  it("the server deletes a TTL node that has not changed for its TTL", async () => {
    const { path } = await client.create(`/ttl-${Date.now()}-`, "x", {
      mode: "persistentSequentialWithTtl",
      ttl: 200,
    });
    expect(path).toMatch(/\d{10}$/);
    await waitFor(async () => (await client.exists(path)) === null, { message: "the TTL node to go" });
  });

  it("a multi create of a container answers with the stat", async () => {
    const [result] = await client.multi([
      { type: "create", path: `/multi-container-${Date.now()}`, mode: "container" },
    ]);
    expect(result).toMatchObject({ type: "create" });
    expect(result?.type === "create" && result.stat?.czxid).toBeGreaterThan(0n);
  });
});

describe("multi", () => {
  it("applies every operation atomically and returns each result", async () => {
    await zk.create("/a", "1");
    const results = await zk.multi([
      { type: "check", path: "/a", version: 0 },
      { type: "create", path: "/b", data: "2" },
      { type: "setData", path: "/a", data: "3" },
      { type: "create", path: "/seq-", mode: "persistentSequential" },
      { type: "delete", path: "/b" },
    ]);
    expect(results.map((r) => r.type)).toEqual(["check", "create", "setData", "create", "delete"]);
    expect(results[1]).toMatchObject({ type: "create", path: "/b" });
    expect(results[2]).toMatchObject({ type: "setData", stat: { version: 1 } });
    expect(results[3]).toMatchObject({ type: "create", path: expect.stringMatching(/^\/seq-\d{10}$/) });
    expect((await zk.getData("/a")).data.toString()).toBe("3");
    expect(await zk.exists("/b")).toBeNull();
  });

  it("applies nothing when one operation fails, and says which and why", async () => {
    await zk.create("/a", "1");
    const error = await rejection(
      zk.multi([
        { type: "create", path: "/new" },
        { type: "check", path: "/a", version: 5 },
        { type: "delete", path: "/a" },
      ]),
    );
    expect(error).toBeInstanceOf(ZooKeeperMultiError);
    expect(error).toMatchObject({ code: "BADVERSION", rc: -103, index: 1, path: "/a" });
    expect((error as ZooKeeperMultiError).outcomes.map((o) => o.code)).toEqual([
      "OK",
      "BADVERSION",
      "RUNTIMEINCONSISTENCY",
    ]);
    expect(error.message).toContain(
      "operation 1 (check /a) failed with BADVERSION (-103); nothing was applied",
    );
    expect(await zk.exists("/new")).toBeNull();
    expect(await zk.exists("/a")).not.toBeNull();
  });

  it("resolves an empty multi without a request", async () => {
    expect(await zk.multi([])).toEqual([]);
  });
});

describe("ACLs and digest auth", () => {
  it("protects a node with a digest ACL that only authenticated sessions pass", async () => {
    const owner = await connect(chroot, { auth: [{ scheme: "digest", auth: "app:secret" }] });
    await owner.create("/private", "secret data", { acl: CREATOR_ALL_ACL });
    const { acl, stat } = await owner.getACL("/private");
    expect(acl).toEqual([{ perms: Perms.ALL, scheme: "digest", id: digestId("app", "secret") }]);
    expect(stat.aversion).toBe(0);

    expect(await rejection(zk.getData("/private"))).toMatchObject({ code: "NOAUTH", rc: -102 });
    await zk.addAuth("digest", "app:secret");
    expect((await zk.getData("/private")).data.toString()).toBe("secret data");
  });

  it("setACL replaces the ACL, checking its version", async () => {
    await zk.create("/node", "", { acl: OPEN_ACL_UNSAFE });
    const readAndAdmin = [{ perms: Perms.READ | Perms.ADMIN, scheme: "world", id: "anyone" }];
    const stat = await zk.setACL("/node", readAndAdmin, 0);
    expect(stat.aversion).toBe(1);
    expect(await rejection(zk.setACL("/node", OPEN_ACL_UNSAFE, 0))).toMatchObject({ code: "BADVERSION" });
    expect(await rejection(zk.setData("/node", "x"))).toMatchObject({ code: "NOAUTH" });
    expect((await zk.getACL("/node")).acl).toEqual(readAndAdmin);
    await zk.setACL("/node", READ_ACL_UNSAFE);
    expect(await rejection(zk.setACL("/node", OPEN_ACL_UNSAFE))).toMatchObject({ code: "NOAUTH" });
  });

  it("credentials of an unknown scheme end the session with authFailed", async () => {
    const client = await connect(chroot);
    const error = await rejection(client.addAuth("no-such-scheme", "x"));
    expect(error).toMatchObject({ code: "AUTHFAILED", rc: -115 });
    expect(client.state).toBe("authFailed");
    expect(await rejection(client.exists("/"))).toMatchObject({ code: "AUTHFAILED" });
  });
});

describe("chroot", () => {
  it("prefixes every path and strips it from answers", async () => {
    const root = await connect(inject("zkConnect"));
    const prefix = chroot.slice(chroot.indexOf("/"));
    const { path } = await zk.create("/inside-", "", { mode: "persistentSequential" });
    expect(path.startsWith("/inside-")).toBe(true);
    expect(await root.exists(`${prefix}${path}`)).not.toBeNull();
    const [created] = await zk.multi([{ type: "create", path: "/multi" }]);
    expect(created).toMatchObject({ path: "/multi" });
    expect((await root.getChildren(prefix)).children.sort()).toEqual(["multi", path.slice(1)].sort());
  });
});

describe("sync", () => {
  it("resolves once the server has caught up", async () => {
    await zk.create("/node");
    await expect(zk.sync("/node")).resolves.toBeUndefined();
  });
});
