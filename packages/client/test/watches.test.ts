// Watches against a real server: one-shot, persistent and recursive ones, their order relative to
// replies, and removeWatches (checked in the server's own list of watches).
import { fourLetter, waitFor } from "@zk-dist-lock/testing";
import { beforeEach, describe, expect, inject, it } from "vitest";
import type { WatchEvent, ZooKeeperClient } from "../src/index.js";
import { connect, freshChroot, rejection } from "./support/clients.js";

let chroot: string;
let prefix: string;
let zk: ZooKeeperClient;
let other: ZooKeeperClient;

beforeEach(async () => {
  chroot = await freshChroot();
  prefix = chroot.slice(chroot.indexOf("/"));
  zk = await connect(chroot);
  other = await connect(chroot);
});

/** A watcher that records its events. */
function recorder(): { events: WatchEvent[]; watcher: (event: WatchEvent) => void } {
  const events: WatchEvent[] = [];
  return { events, watcher: (event) => events.push(event) };
}

/** The paths (under the chroot) the server holds a watch on for `client`'s session (`wchc`). */
async function serverWatches(client: ZooKeeperClient): Promise<string[]> {
  const [host, port] = inject("zkConnect").split(",")[0]!.split(":");
  const answer = await fourLetter(host!, Number(port), "wchc");
  const lines = answer.split("\n");
  const start = lines.indexOf(client.sessionIdHex);
  if (start === -1) return [];
  const paths: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith("\t")) break;
    paths.push(line.trim().slice(prefix.length) || "/");
  }
  return paths;
}

describe("one-shot watches", () => {
  it("a data watch fires once, for the next change", async () => {
    await zk.create("/node", "1");
    const { events, watcher } = recorder();
    await zk.getData("/node", { watcher });
    await other.setData("/node", "2");
    await waitFor(() => events.length === 1);
    await other.setData("/node", "3");
    await other.sync("/node");
    await zk.sync("/node");
    expect(events).toEqual([{ type: "dataChanged", path: "/node" }]);
  });

  it("an exists watch on a missing node fires when it is created", async () => {
    const { events, watcher } = recorder();
    expect(await zk.exists("/later", { watcher })).toBeNull();
    await other.create("/later");
    await waitFor(() => events.length === 1);
    expect(events).toEqual([{ type: "created", path: "/later" }]);
  });

  it("a children watch fires when a child comes; a deletion reaches data and children watches once", async () => {
    await zk.create("/parent");
    const children = recorder();
    await zk.getChildren("/parent", { watcher: children.watcher });
    await other.create("/parent/child");
    await waitFor(() => children.events.length === 1);
    expect(children.events).toEqual([{ type: "childrenChanged", path: "/parent" }]);

    const both = recorder();
    await zk.getData("/parent/child", { watcher: both.watcher });
    await zk.getChildren("/parent/child", { watcher: both.watcher });
    await other.delete("/parent/child");
    await waitFor(() => both.events.length > 0);
    await zk.sync("/");
    expect(both.events).toEqual([{ type: "deleted", path: "/parent/child" }]);
  });

  it("delivers an event before the reply that shows the change", async () => {
    await zk.create("/node", "old");
    const { events, watcher } = recorder();
    await zk.getData("/node", { watcher });
    await other.setData("/node", "new");
    // ZooKeeper's guarantee: a client sees the watch event before it sees the new data.
    for (;;) {
      const { data } = await zk.getData("/node");
      if (data.toString() === "new") break;
      expect(events).toEqual([]);
    }
    expect(events).toEqual([{ type: "dataChanged", path: "/node" }]);
  });
});

describe("persistent watches (addWatch)", () => {
  it("a persistent watch hears every event of its node and stays", async () => {
    const { events, watcher } = recorder();
    await zk.addWatch("/node", watcher);
    await other.create("/node", "1");
    await other.setData("/node", "2");
    await other.create("/node/child");
    await other.delete("/node/child");
    await other.delete("/node");
    await waitFor(() => events.length === 5);
    expect(events.map((e) => e.type)).toEqual([
      "created",
      "dataChanged",
      "childrenChanged",
      "childrenChanged",
      "deleted",
    ]);
    expect(await serverWatches(zk)).toContain("/node");
  });

  it("a recursive watch hears its subtree, without children events", async () => {
    const { events, watcher } = recorder();
    await zk.create("/tree");
    await zk.addWatch("/tree", watcher, { mode: "persistentRecursive" });
    await other.create("/tree/a");
    await other.create("/tree/a/b", "x");
    await other.setData("/tree/a/b", "y");
    await other.delete("/tree/a/b");
    await waitFor(() => events.length === 4);
    expect(events).toEqual([
      { type: "created", path: "/tree/a" },
      { type: "created", path: "/tree/a/b" },
      { type: "dataChanged", path: "/tree/a/b" },
      { type: "deleted", path: "/tree/a/b" },
    ]);
  });
});

describe("removeWatches", () => {
  it("removes a watch here and at the server, and tells the watcher", async () => {
    await zk.create("/node");
    const { events, watcher } = recorder();
    await zk.getData("/node", { watcher });
    expect(await serverWatches(zk)).toEqual(["/node"]);
    await zk.removeWatches("/node", { type: "data" });
    expect(await serverWatches(zk)).toEqual([]);
    await waitFor(() => events.length === 1);
    expect(events).toEqual([{ type: "dataWatchRemoved", path: "/node" }]);
  });

  it("removing one of two watchers keeps the server's watch for the other", async () => {
    await zk.create("/node");
    const first = recorder();
    const second = recorder();
    await zk.getData("/node", { watcher: first.watcher });
    await zk.exists("/node", { watcher: second.watcher });
    await zk.removeWatches("/node", { watcher: first.watcher });
    expect(await serverWatches(zk)).toEqual(["/node"]);
    await other.setData("/node", "x");
    await waitFor(() => second.events.length === 1);
    expect(first.events).toEqual([{ type: "dataWatchRemoved", path: "/node" }]);
    expect(second.events).toEqual([{ type: "dataChanged", path: "/node" }]);
  });

  it("removing a watcher keeps the server's watch while another watcher's read of the node is in flight", async () => {
    await zk.create("/node");
    const first = recorder();
    const second = recorder();
    await zk.getData("/node", { watcher: first.watcher });
    // Sent before the removal, so the server sets (keeps) its watch first and reads the removal
    // after: removing it there would leave the second watcher waiting for an event never sent.
    const reading = zk.getData("/node", { watcher: second.watcher });
    const removing = zk.removeWatches("/node", { watcher: first.watcher });
    await Promise.all([reading, removing]);
    expect(await serverWatches(zk)).toEqual(["/node"]);
    await other.setData("/node", "x");
    await waitFor(() => second.events.length === 1);
    expect(first.events).toEqual([{ type: "dataWatchRemoved", path: "/node" }]);
    expect(second.events).toEqual([{ type: "dataChanged", path: "/node" }]);
  });

  it("removes persistent watches too, and says NOWATCHER, sending nothing, when there is none", async () => {
    const { events, watcher } = recorder();
    await zk.addWatch("/node", watcher, { mode: "persistentRecursive" });
    // "any": the type that ZooKeeper 3.8, the version these tests run on, removes persistent watches with.
    await zk.removeWatches("/node");
    await waitFor(() => events.length === 1);
    expect(events).toEqual([{ type: "persistentWatchRemoved", path: "/node" }]);
    expect(await serverWatches(zk)).toEqual([]);
    const error = await rejection(zk.removeWatches("/node"));
    expect(error).toMatchObject({ code: "NOWATCHER", rc: -121, path: "/node" });
    // The client's own answer, not the server's ("ZooKeeper answered NOWATCHER …").
    expect(error.message).toBe("removeWatches /node: this client has no watch there.");
  });
});
