import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import ZooKeeper from "zookeeper";
import { fourLetter, startZooKeeper, waitFor, type ZooKeeperServer } from "../src/index.js";
import { connectClient, isAlive, raceTimeout } from "./helpers.js";

describe("startZooKeeper", () => {
  const pids: number[] = [];
  let server: ZooKeeperServer | undefined;
  let client: ZooKeeper | undefined;

  afterAll(async () => {
    client?.close();
    await server?.stop();
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
  });

  it("serves a real client, survives pause, restart, and stops without a trace", async () => {
    server = await startZooKeeper({ tickTime: 200 });
    const zk = server;
    pids.push(zk.pid!);
    expect(zk.connectString).toBe(`127.0.0.1:${zk.port}`);
    expect(zk.running).toBe(true);
    expect(isAlive(zk.pid)).toBe(true);
    expect(await fourLetter(zk.host, zk.port, "srvr")).toMatch(/^Mode: standalone$/m);
    expect(await fourLetter(zk.host, zk.port, "ruok")).toBe("imok");

    client = await connectClient(zk.connectString);
    await client.create("/survivor", "hello", ZooKeeper.constants.ZOO_PERSISTENT);
    const [, data] = await client.get("/survivor", false);
    expect(String(data)).toBe("hello");

    // Paused: the connection stays open but nothing is answered.
    zk.pause();
    expect(zk.paused).toBe(true);
    const pending = client.get("/survivor", false);
    expect(await raceTimeout(pending, 1500)).toBe("timeout");
    await expect(fourLetter(zk.host, zk.port, "srvr", { timeoutMs: 500 })).rejects.toMatchObject({
      code: "FOUR_LETTER_FAILED",
    });
    zk.resume();
    expect(zk.paused).toBe(false);
    const [, late] = await pending;
    expect(String(late)).toBe("hello");

    // Restart: a new JVM on the same port with the same data.
    const { port, pid } = zk;
    await zk.restart();
    pids.push(zk.pid!);
    expect(zk.port).toBe(port);
    expect(zk.pid).not.toBe(pid);
    expect(isAlive(pid)).toBe(false);
    const [, after] = await waitFor(() => client!.get("/survivor", false), { timeoutMs: 20_000 });
    expect(String(after)).toBe("hello");
    client.close();
    client = undefined;

    const dir = zk.dir;
    expect(existsSync(dir)).toBe(true);
    await zk.stop();
    expect(zk.running).toBe(false);
    expect(isAlive(zk.pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await expect(fourLetter(zk.host, zk.port, "srvr", { timeoutMs: 1000 })).rejects.toMatchObject({
      code: "FOUR_LETTER_FAILED",
    });
    await zk.stop(); // idempotent
    await expect(zk.restart()).rejects.toMatchObject({ code: "NOT_RUNNING" });
  });

  it("recovers from a crash with restart(), keeping the data", async () => {
    await using zk = await startZooKeeper();
    pids.push(zk.pid!);
    const first = await connectClient(zk.connectString);
    await first.create("/crash", "kept", ZooKeeper.constants.ZOO_PERSISTENT);
    first.close();
    const pid = zk.pid;
    await zk.kill();
    expect(zk.running).toBe(false);
    expect(isAlive(pid)).toBe(false);
    await zk.restart();
    pids.push(zk.pid!);
    const second = await connectClient(zk.connectString);
    try {
      const [, data] = await second.get("/crash", false);
      expect(String(data)).toBe("kept");
    } finally {
      second.close();
    }
  });

  it("passes server options through", async () => {
    await using zk = await startZooKeeper({
      tickTime: 100,
      maxSessionTimeout: 5000,
      containerCheckIntervalMs: 100,
    });
    pids.push(zk.pid!);
    const conf = await fourLetter(zk.host, zk.port, "conf");
    expect(conf).toMatch(/^tickTime=100$/m);
    expect(conf).toMatch(/^minSessionTimeout=200$/m);
    expect(conf).toMatch(/^maxSessionTimeout=5000$/m);
    // Container nodes are removed by the fast container manager once empty.
    const client = await connectClient(zk.connectString);
    try {
      await client.create("/box", "", ZooKeeper.constants.ZOO_CONTAINER);
      await client.create("/box/child", "", ZooKeeper.constants.ZOO_PERSISTENT);
      await client.delete_("/box/child", -1);
      await waitFor(async () => !(await client.pathExists("/box", false)), { timeoutMs: 10_000 });
    } finally {
      client.close();
    }
  });
});
