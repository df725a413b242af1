import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, inject, it } from "vitest";
import ZooKeeper from "zookeeper";
import { connectZooKeeper, startProxy, waitFor, type ZooKeeperProxy } from "../src/index.js";
import { connectClient, raceTimeout } from "./helpers.js";

const server = inject("zkConnect");
// The binding closes a client by itself after 10 empty polls, as if its session expired; these
// clients must only close when the server says so.
const patient = { response_counter_limit: 1_000_000_000 };

describe("startProxy", () => {
  const proxies: ZooKeeperProxy[] = [];
  const clients: ZooKeeper[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()));
  });

  async function proxied(sessionTimeout = 4000) {
    const proxy = await startProxy(server);
    proxies.push(proxy);
    const client = await connectZooKeeper(proxy.connectString, { sessionTimeout, config: patient });
    clients.push(client);
    const events: string[] = [];
    client.on("connecting", () => events.push("connecting"));
    client.on("connect", () => events.push("connect"));
    client.on("close", (_: unknown, code: number) => events.push(`close ${code}`));
    return { proxy, client, events };
  }

  async function observer(): Promise<ZooKeeper> {
    const client = await connectClient(server);
    clients.push(client);
    return client;
  }

  /** Round trips of `exists("/")`, in milliseconds. */
  async function roundTrips(client: ZooKeeper, count: number): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      await client.exists("/", false);
      times.push(performance.now() - start);
    }
    return times.sort((a, b) => a - b);
  }

  it("adds latency each way, with jitter, or one way; heal removes it", async () => {
    const { proxy, client } = await proxied();
    expect(proxy.connectString).toBe(`127.0.0.1:${proxy.ports[0]}`);

    proxy.setLatency({ ms: 40, jitterMs: 10 });
    const both = await roundTrips(client, 8);
    // Each way takes 30 to 50 ms more, so a round trip at least 60 ms more (less the up to 0.5 ms
    // each way by which a delivery may come early, to be right on average).
    expect(both[0]).toBeGreaterThanOrEqual(59);
    expect(new Set(both.map(Math.round)).size).toBeGreaterThan(1); // jitter: not all alike

    proxy.setLatency({ ms: 0, direction: "toClient" });
    const oneWay = await roundTrips(client, 4);
    expect(oneWay[0]).toBeGreaterThanOrEqual(29.5);

    // Sub-millisecond delays are honoured, not rounded to Node's 1 ms timers.
    proxy.setLatency({ ms: 0.5 });
    const small = await roundTrips(client, 20);
    expect(small[10]).toBeGreaterThanOrEqual(0.9);

    proxy.heal();
    const healed = await roundTrips(client, 8);
    expect(healed[4]).toBeLessThan(60);
    expect(() => proxy.setLatency({ ms: -1 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("blackhole: the client is suspended, the server expires its session, and after heal the client hears so", async () => {
    const { proxy, client, events } = await proxied(2000);
    const node = `/blackhole-${randomUUID()}`;
    await client.create(node, "", ZooKeeper.constants.ZOO_EPHEMERAL);
    const watcher = await observer();

    proxy.blackhole();
    await waitFor(() => events.includes("connecting"), { message: "the client to notice the silence" });
    // The server hears nothing either, and ends the session (its ephemeral node goes with it)...
    await waitFor(async () => !(await watcher.pathExists(node, false)), {
      timeoutMs: 20_000,
      message: "the server to expire the session",
    });
    // ...while the client, cut off, has not heard of it.
    expect(events).not.toContain("close -112");
    proxy.heal();
    await waitFor(() => events.includes("close -112"), {
      timeoutMs: 20_000,
      message: "the expiry to reach the client",
    });
    expect(events.filter((event) => event === "connect")).toEqual([]); // it never got through meanwhile
  });

  it("drops the reply to a create: the client sees a connection loss, the node is on the server", async () => {
    const { proxy, client, events } = await proxied();
    const dir = `/lost-reply-${randomUUID()}`;
    await client.create(dir, "", ZooKeeper.constants.ZOO_PERSISTENT);
    await client.create(`${dir}/unrelated`, "", ZooKeeper.constants.ZOO_PERSISTENT);
    const dropped = proxy.dropReply({ kind: "create", path: `${dir}/job-` });

    const failure = await client
      .create(`${dir}/job-`, "x", ZooKeeper.constants.ZOO_PERSISTENT_SEQUENTIAL)
      .catch((error: unknown) => error);
    expect(String(failure)).toMatch(/-4|connection loss/i); // ZCONNECTIONLOSS
    const reply = await dropped;
    expect(reply).toMatchObject({ kind: "create", err: 0, requestPath: `${dir}/job-` });
    expect(reply.path).toMatch(new RegExp(`^${dir}/job-\\d{10}$`));
    expect(reply.zxid).toBeGreaterThan(0n);

    // The client is back in the same session, and the node it never heard of is there.
    await waitFor(() => events.includes("connect"), { message: "the client to reconnect" });
    expect((await client.get_children(dir, false)).sort()).toEqual(
      [reply.path!.split("/").pop(), "unrelated"].sort(),
    );
  });

  it("drops a request before the server sees it, and refuses new connections after a drop when asked", async () => {
    const { proxy, client, events } = await proxied();
    const dir = `/lost-request-${randomUUID()}`;
    await client.create(dir, "", ZooKeeper.constants.ZOO_PERSISTENT);
    const dropped = proxy.dropRequest({ kind: "setData", path: dir });
    await expect(client.set(dir, "changed", -1)).rejects.toBeDefined();
    expect(await dropped).toMatchObject({ kind: "setData", path: dir });
    await waitFor(() => events.includes("connect"), { message: "the client to reconnect" });
    expect(String((await client.get(dir, false))[1])).toBe("");

    const refused = proxy.dropReply({ kind: "setData", path: dir }, { thenRefuse: true });
    await expect(client.set(dir, "done", -1)).rejects.toBeDefined();
    expect((await refused).err).toBe(0);
    // Cut off: a read waits for the connection...
    const pending = client.get(dir, false);
    expect(await raceTimeout(pending, 1000)).toBe("timeout");
    expect(proxy.connections).toBe(0);
    // ...which comes back with heal, in the same session.
    proxy.heal();
    expect(String((await pending)[1])).toBe("done");
    expect(events).not.toContain("close -112");
  });

  /** Sends creates of `paths` at once, without waiting between them: what each caller heard. */
  const createAll = (client: ZooKeeper, paths: string[]) =>
    Promise.all(
      paths.map((path) =>
        client.create(path, "", ZooKeeper.constants.ZOO_PERSISTENT).then(
          () => "created",
          (error: unknown) => String(error),
        ),
      ),
    );

  for (const latency of [undefined, { ms: 30 }, { ms: 30, direction: "toClient" as const }]) {
    const name = latency ? `latency ${JSON.stringify(latency)}` : "no latency";
    it(`dropReply, ${name}: the replies to earlier requests still reach the client`, async () => {
      const { proxy, client, events } = await proxied(6000);
      const dir = `/earlier-replies-${randomUUID()}`;
      await client.create(dir, "", ZooKeeper.constants.ZOO_PERSISTENT);
      if (latency) proxy.setLatency(latency);
      const dropped = proxy.dropReply({ kind: "create", path: `${dir}/last` });
      // Sent at once, they reach the proxy together: the server answers the earlier ones after the
      // proxy let the last one through.
      const heard = await createAll(client, [`${dir}/a`, `${dir}/b`, `${dir}/c`, `${dir}/last`]);
      expect(heard.slice(0, 3)).toEqual(["created", "created", "created"]);
      expect(heard[3]).toMatch(/-4|connection loss/i);
      expect(await dropped).toMatchObject({ err: 0, path: `${dir}/last` });
      await waitFor(() => events.includes("connect"), { message: "the client to reconnect" });
      expect((await client.get_children(dir, false)).sort()).toEqual(["a", "b", "c", "last"]);
    });
  }

  it("dropRequest, with latency: the requests sent before it still reach the server", async () => {
    const { proxy, client } = await proxied(6000);
    const watcher = await observer();
    const dir = `/earlier-requests-${randomUUID()}`;
    await client.create(dir, "", ZooKeeper.constants.ZOO_PERSISTENT);
    proxy.setLatency({ ms: 50 });
    const dropped = proxy.dropRequest({ kind: "create", path: `${dir}/last` });
    const heard = await createAll(client, [`${dir}/a`, `${dir}/b`, `${dir}/last`]);
    expect(await dropped).toMatchObject({ kind: "create", path: `${dir}/last` });
    // The connection closed before the server answered the earlier ones, but it had them.
    expect(heard.every((answer) => /-4|connection loss/i.test(answer))).toBe(true);
    proxy.heal();
    await waitFor(async () => (await watcher.get_children(dir, false)).length >= 2, {
      message: "the earlier creates on the server",
    });
    expect((await watcher.get_children(dir, false)).sort()).toEqual(["a", "b"]);
  });

  it("dropRequest, with latency to the client: a reply on its way still reaches the client", async () => {
    const { proxy, client } = await proxied(6000);
    const watcher = await observer();
    const dir = `/reply-on-its-way-${randomUUID()}`;
    await client.create(dir, "", ZooKeeper.constants.ZOO_PERSISTENT);
    proxy.setLatency({ ms: 500, direction: "toClient" });
    const dropped = proxy.dropRequest({ kind: "delete", path: dir });
    const first = createAll(client, [`${dir}/first`]);
    // Once the node is there its reply is leaving the server, to wait in the proxy for 500 ms.
    await waitFor(() => watcher.pathExists(`${dir}/first`, false), {
      intervalMs: 5,
      message: "the create on the server",
    });
    const deleted = client.delete_(dir, -1).catch((error: unknown) => String(error));
    expect(await dropped).toMatchObject({ kind: "delete", path: dir });
    expect(await first).toEqual(["created"]);
    expect(await deleted).toMatch(/-4|connection loss/i);
  });

  it("cut closes every connection; refuse keeps the client out until heal, counting its attempts", async () => {
    const { proxy, client, events } = await proxied();
    expect(proxy.connections).toBe(1);
    expect(proxy.accepted).toBe(1);
    proxy.cut();
    await waitFor(() => events.filter((event) => event === "connect").length === 1, {
      message: "the client to reconnect",
    });
    expect(events[0]).toBe("connecting");
    expect(proxy.accepted).toBe(2);

    proxy.refuse();
    await waitFor(() => events.at(-1) === "connecting", { message: "the client to lose its connection" });
    // Refused attempts count as accepted connections, though none stays open.
    const attempts = proxy.accepted;
    await waitFor(() => proxy.accepted >= attempts + 2, { message: "two refused attempts" });
    expect(proxy.connections).toBe(0);
    const pending = client.exists("/", false);
    expect(await raceTimeout(pending, 1000)).toBe("timeout");
    proxy.heal();
    await pending;
    expect(proxy.connections).toBe(1);
  });

  it("stands in front of every server of a connect string, keeping its chroot", async () => {
    const proxy = await startProxy(`${server},${server}/app`);
    proxies.push(proxy);
    expect(proxy.ports).toHaveLength(2);
    expect(proxy.connectString).toBe(`127.0.0.1:${proxy.ports[0]},127.0.0.1:${proxy.ports[1]}/app`);
    await expect(startProxy("no port:x")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    // A drop still armed when the proxy stops rejects instead of hanging.
    const armed = proxy.dropReply({ kind: "delete" });
    await proxy.stop();
    await expect(armed).rejects.toMatchObject({ code: "NOT_RUNNING" });
  });
});
