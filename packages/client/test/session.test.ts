// The session over the network's failures, against the shared server through a proxy: connect
// errors, rejoining by id and password, expiry, partitions (no busy loop), watches restored.
import { freePorts, startProxy, waitFor, type ZooKeeperProxy } from "@zk-dist-lock/testing";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { isZooKeeperError, type WatchEvent, ZooKeeperClient } from "../src/index.js";
import { connect, freshChroot, recordStates, rejection, waitForState } from "./support/clients.js";
import { holdingPort } from "./support/holding-port.js";

let chroot: string;
let proxy: ZooKeeperProxy;
/** The chroot, reached through the proxy. */
let proxied: string;

beforeEach(async () => {
  chroot = await freshChroot();
  proxy = await startProxy(inject("zkConnect").split(",")[0]!);
  proxied = `${proxy.connectString}${chroot.slice(chroot.indexOf("/"))}`;
});
afterEach(() => proxy.stop());

describe("connecting", () => {
  it("refuses a malformed connect string or options before any I/O", async () => {
    for (const [connectString, options] of [
      ["127.0.0.1:99999", {}],
      ["", {}],
      ["127.0.0.1:2181", { sessionTimeout: -1 }],
      ["127.0.0.1:2181", { tls: "yes" }],
      ["127.0.0.1:2181", { session: { id: 1, password: Buffer.alloc(16) } }],
      ["127.0.0.1:2181", { sessionTimout: 5000 }],
      ["127.0.0.1:2181", { reconnectDelay: 100 }],
      ["127.0.0.1:2181", { reconnectDelay: { initalMs: 10 } }],
    ] as const) {
      const error = await rejection(ZooKeeperClient.connect(connectString, options as never));
      expect(isZooKeeperError(error, "BADARGUMENTS")).toBe(true);
    }
    expect(() => new ZooKeeperClient(proxy.connectString, { sessionTimout: 5000 } as never)).toThrow(
      'Client options: unknown option "sessionTimout"; the options are sessionTimeout, connectTimeout,',
    );
    const unstarted = new ZooKeeperClient(proxy.connectString);
    expect(() => unstarted.start({ defaultConnectTimout: 1000 } as never)).toThrow(
      'start() options: unknown option "defaultConnectTimout"; the options are defaultConnectTimeout.',
    );
    expect(proxy.accepted).toBe(0);
    expect(() => new ZooKeeperClient("zk1:2181/bad//chroot")).toThrow(/Invalid chroot/);
  });

  it("gives up after connectTimeout with an error naming the connect string and what each server said", async () => {
    const port = (await freePorts(1))[0]!; // nobody listens there
    const connectString = `127.0.0.1:${port},${proxy.connectString}`;
    proxy.refuse();
    const client = new ZooKeeperClient(connectString, { connectTimeout: 700 });
    const states = recordStates(client);
    const error = await rejection(client.start());
    expect(error).toMatchObject({ name: "ZooKeeperError", code: "OPERATIONTIMEOUT", rc: -7 });
    expect(error.message).toContain(
      `Could not connect to ZooKeeper at "${connectString}" within 700 ms (connectTimeout):`,
    );
    expect(error.message).toContain(
      `127.0.0.1:${port}: The connection to 127.0.0.1:${port} was lost: connect ECONNREFUSED`,
    );
    expect(error.message).toContain(
      `${proxy.connectString}: The connection to ${proxy.connectString} was lost:`,
    );
    expect(client.state).toBe("closed");
    await waitFor(() => states.length === 1);
    expect(states[0]).toMatchObject({ state: "closed", change: { previous: "connecting", error } });
    expect(await rejection(client.exists("/"))).toMatchObject({ code: "OPERATIONTIMEOUT" });
  });

  it("takes start()'s defaultConnectTimeout only when the client's options set no connectTimeout, and says what failed meanwhile", async () => {
    const port = (await freePorts(1))[0]!; // nobody listens there
    const unset = new ZooKeeperClient(`127.0.0.1:${port}`);
    expect(unset.connectionFailures).toBeUndefined();
    const error = await rejection(unset.start({ defaultConnectTimeout: 400 }));
    expect(error.message).toContain("within 400 ms (connectTimeout)");
    expect(unset.connectionFailures).toContain(
      `127.0.0.1:${port}: The connection to 127.0.0.1:${port} was lost`,
    );
    const set = new ZooKeeperClient(`127.0.0.1:${port}`, { connectTimeout: 300 });
    expect((await rejection(set.start({ defaultConnectTimeout: 60_000 }))).message).toContain(
      "within 300 ms (connectTimeout)",
    );
    expect(() => new ZooKeeperClient(`127.0.0.1:${port}`).start({ defaultConnectTimeout: -1 })).toThrow(
      /defaultConnectTimeout/,
    );
  });
});

describe("one session, several clients", () => {
  it("rejoins a live session by id and password; closing it there expires it for the first client", async () => {
    const first = await connect(proxied, { sessionTimeout: 10_000 });
    const { stat } = await first.create("/mine", "", { mode: "ephemeral" });
    // The first client cannot reconnect while the second one has the session.
    proxy.refuse();
    await waitForState(first, "disconnected");
    const second = await connect(chroot, {
      session: { id: first.sessionId, password: first.sessionPassword },
    });
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.sessionPassword).toEqual(first.sessionPassword);
    expect((await second.exists("/mine"))?.ephemeralOwner).toBe(stat.ephemeralOwner);
    await second.close();
    expect(await (await connect(chroot)).exists("/mine")).toBeNull();

    const states = recordStates(first);
    proxy.heal();
    await waitForState(first, "expired");
    const expired = states.at(-1)!;
    expect(expired).toMatchObject({ state: "expired", change: { previous: "disconnected" } });
    expect(expired.change.error?.message).toBe(
      `The session ${first.sessionIdHex} has expired: ${proxy.connectString} refused to rejoin it.`,
    );
    expect(await rejection(first.getData("/mine"))).toMatchObject({ code: "SESSIONEXPIRED", rc: -112 });
  });

  it("a session to rejoin that is gone fails start() with SESSIONEXPIRED", async () => {
    const gone = await connect(chroot);
    const session = { id: gone.sessionId, password: gone.sessionPassword };
    await gone.close();
    const error = await rejection(ZooKeeperClient.connect(chroot, { session }));
    expect(error).toMatchObject({ code: "SESSIONEXPIRED" });
  });
});

describe("partitions", () => {
  it("a cut-off client backs off instead of spinning, then counts its session as expired", async () => {
    const zk = await connect(proxied, { sessionTimeout: 3000 });
    expect(zk.negotiatedTimeout).toBe(3000);
    const states = recordStates(zk);
    proxy.refuse();
    await waitForState(zk, "disconnected");
    const attemptsBefore = proxy.accepted;
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    // Every attempt reaches the proxy and is dropped at once: a client without backoff would loop.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - wallBefore;
    const attempts = proxy.accepted - attemptsBefore;
    // A correctness bound, not a speed test: no busy loop, so far below 5 % of a core.
    expect((cpu.user + cpu.system) / 1000 / wallMs).toBeLessThan(0.05);
    expect(attempts).toBeGreaterThanOrEqual(2); // it keeps trying…
    expect(attempts).toBeLessThan(20); // …with growing delays (at most one per second once backed off)
    expect(zk.state).toBe("disconnected");

    await waitForState(zk, "expired");
    const expired = states.at(-1)!;
    expect(expired.change.error?.message).toContain(
      `The session ${zk.sessionIdHex} counts as expired: no server of "${proxied}" answered for 4/3 of its 3000 ms timeout.`,
    );
    const attemptsAtExpiry = proxy.accepted;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(proxy.accepted).toBe(attemptsAtExpiry); // an expired client stops connecting
  });

  it("a silent server is given up after 2/3 of the session timeout; requests in flight fail with CONNECTIONLOSS", async () => {
    const zk = await connect(proxied, { sessionTimeout: 3000 });
    const states = recordStates(zk);
    proxy.blackhole();
    const inFlight = rejection(zk.getData("/"));
    await waitForState(zk, "disconnected", 5000);
    const error = await inFlight;
    expect(error).toMatchObject({ code: "CONNECTIONLOSS", rc: -4 });
    expect(error.message).toMatch(
      new RegExp(
        `^getData / was in flight, so it may or may not have been applied\\. The connection to ${proxy.connectString} was lost: no answer for \\d+ ms \\(2/3 of the session timeout\\)\\.$`,
      ),
    );
    expect(states[0]).toMatchObject({
      state: "disconnected",
      change: { previous: "connected", server: proxy.connectString },
    });
    // Healed in time: the same session comes back.
    const sessionId = zk.sessionId;
    proxy.heal();
    await waitForState(zk, "connected");
    expect(zk.sessionId).toBe(sessionId);
  });

  it("gives up an attempt the server never answers after a third of the session timeout, so a lone server gets another before the session expires", async () => {
    const port = await holdingPort(inject("zkConnect"));
    try {
      const zk = await connect(`${port.connectString}${chroot.slice(chroot.indexOf("/"))}`, {
        sessionTimeout: 6000,
      });
      const sessionId = zk.sessionId;
      const states = recordStates(zk);
      port.holdNext();
      port.cut();
      await waitFor(() => port.held === 1, { message: "the client's next attempt, held unanswered" });
      // With the whole 6 s for that attempt, the server would have expired the session by the next.
      await waitForState(zk, "connected", 6000);
      expect(zk.sessionId).toBe(sessionId);
      expect(states.map(({ state }) => state)).toEqual(["disconnected", "connected"]);
    } finally {
      await port.close();
    }
  });

  it("requests made while disconnected wait for the next connection", async () => {
    const zk = await connect(proxied, { sessionTimeout: 10_000 });
    proxy.refuse();
    await waitForState(zk, "disconnected");
    const created = zk.create("/while-cut");
    proxy.heal();
    expect((await created).path).toBe("/while-cut");
  });

  it("watches survive a reconnect, and hear of changes made while the client was cut off", async () => {
    const zk = await connect(proxied, { sessionTimeout: 10_000 });
    const other = await connect(chroot);
    await zk.create("/watched", "1");
    await zk.create("/parent");
    const events: WatchEvent[] = [];
    await zk.getData("/watched", { watcher: (event) => events.push(event) });
    await zk.getChildren("/parent", { watcher: (event) => events.push(event) });
    await zk.exists("/later", { watcher: (event) => events.push(event) });
    await zk.addWatch("/parent", (event) =>
      events.push({ ...event, type: `persistent ${event.type}` as never }),
    );
    proxy.refuse();
    await waitForState(zk, "disconnected");
    await other.setData("/watched", "2");
    await other.create("/parent/child");
    await other.create("/later");
    proxy.heal();
    // setWatches carries the last zxid the client saw: the server reports what changed since.
    await waitFor(() => events.length === 4, { message: "the four events" });
    expect(events).toEqual(
      expect.arrayContaining([
        { type: "dataChanged", path: "/watched" },
        { type: "childrenChanged", path: "/parent" },
        { type: "created", path: "/later" },
        { type: "persistent childrenChanged", path: "/parent" },
      ]),
    );
    // The persistent watch is still there after the reconnect.
    await other.delete("/parent/child");
    await waitFor(() => events.length === 5);
    expect(events[4]).toEqual({ type: "persistent childrenChanged", path: "/parent" });
  });
});

describe("closing", () => {
  it("ends the session at once, fails later calls with CLOSING, and reports closed", async () => {
    const zk = await connect(chroot);
    const states = recordStates(zk);
    await zk.create("/ephemeral", "", { mode: "ephemeral" });
    await zk.close();
    await zk.close(); // idempotent
    expect(zk.state).toBe("closed");
    expect(await (await connect(chroot)).exists("/ephemeral")).toBeNull();
    const error = await rejection(zk.exists("/"));
    expect(error).toMatchObject({ code: "CLOSING", rc: -116 });
    await waitFor(() => states.length === 1);
    expect(states[0]).toMatchObject({ state: "closed", change: { previous: "connected" } });
  });
});
