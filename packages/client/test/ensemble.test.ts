// A session on a 3-member ensemble moves to another member when its server dies or the leader
// changes: same session id, its ephemeral node kept, its watches restored on the new server.
import { fourLetter, startEnsemble, waitFor, type ZooKeeperEnsemble } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { WatchEvent, ZooKeeperClient } from "../src/index.js";
import { connect, recordStates } from "./support/clients.js";

let ensemble: ZooKeeperEnsemble;

beforeAll(async () => {
  ensemble = await startEnsemble({ size: 3 });
});
afterAll(() => ensemble.stop());

/** Whether `server` (host:port) holds a watch on `path` for `client`'s session (`wchc`). */
async function watchedAt(server: string, client: ZooKeeperClient, path: string): Promise<boolean> {
  const [host, port] = server.split(":");
  const answer = await fourLetter(host!, Number(port), "wchc");
  const lines = answer.split("\n");
  const start = lines.indexOf(client.sessionIdHex);
  return start !== -1 && lines[start + 1]?.trim() === path;
}

/** Sets up a session with an ephemeral node and a data watch, for a failure to come. */
async function sessionWithWatch(name: string) {
  const zk = await connect(ensemble.connectString, { sessionTimeout: 10_000 });
  const other = await connect(ensemble.connectString, { sessionTimeout: 10_000 });
  await zk.create(`/${name}-ephemeral`, "", { mode: "ephemeral" });
  await zk.create(`/${name}-watched`, "1");
  const events: WatchEvent[] = [];
  await zk.getData(`/${name}-watched`, { watcher: (event) => events.push(event) });
  return { zk, other, events, states: recordStates(zk), sessionId: zk.sessionId, server: zk.server! };
}

/** After the failure: same session on a live server, node and watch still there, the watch fires. */
async function expectSessionSurvived(name: string, setup: Awaited<ReturnType<typeof sessionWithWatch>>) {
  const { zk, other, events, states, sessionId } = setup;
  // Every member drops its clients when it loses the leader (or dies): a disconnection, then a reconnect.
  await waitFor(() => states.some((s) => s.state === "disconnected") && zk.state === "connected", {
    timeoutMs: 30_000,
    message: "a disconnection and a reconnect",
  });
  expect(zk.sessionId).toBe(sessionId);
  expect(states.at(-1)).toMatchObject({ state: "connected", change: { previous: "disconnected" } });
  // The new server knows the watch only from the client's setWatches, which it may still be
  // applying when the four-letter query (another connection) is answered.
  await waitFor(() => watchedAt(zk.server!, zk, `/${name}-watched`), {
    timeoutMs: 5000,
    message: "the new server to hold the restored watch",
  });
  expect((await other.exists(`/${name}-ephemeral`))?.ephemeralOwner).toBe(sessionId);
  await other.setData(`/${name}-watched`, "2");
  await waitFor(() => events.length === 1, { message: "the restored watch to fire" });
  expect(events).toEqual([{ type: "dataChanged", path: `/${name}-watched` }]);
}

it("a session survives the loss of its server", async () => {
  const setup = await sessionWithWatch("server-loss");
  const member = ensemble.members.find((m) => m.connectString === setup.server)!;
  await ensemble.kill(member);
  await expectSessionSurvived("server-loss", setup);
  expect(setup.zk.server).not.toBe(setup.server);
  await ensemble.restart(member);
}, 60_000);

it("a session survives the loss of the leader; zxids carry the new epoch", async () => {
  const setup = await sessionWithWatch("leader-loss");
  const before = await setup.zk.create("/before-election");
  const leader = await waitFor(() => ensemble.leader(), { timeoutMs: 30_000 });
  await ensemble.kill(leader);
  await expectSessionSurvived("leader-loss", setup);
  // A zxid's top 32 bits are the leader's epoch: a new leader means a larger epoch.
  const after = await setup.zk.create("/after-election");
  expect(after.stat.czxid >> 32n).toBeGreaterThan(before.stat.czxid >> 32n);
  expect(setup.zk.lastZxid).toBeGreaterThanOrEqual(after.stat.czxid);
  await ensemble.restart(leader);
}, 60_000);
