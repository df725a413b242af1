import { randomUUID } from "node:crypto";
import { afterEach, expect, inject, it } from "vitest";
import ZooKeeper from "zookeeper";
import { connectZooKeeper, expireSession, startProxy, waitFor, type ZooKeeperProxy } from "../src/index.js";

const server = inject("zkConnect");
const patient = { response_counter_limit: 1_000_000_000 };
const clients: ZooKeeper[] = [];
const proxies: ZooKeeperProxy[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()));
});

async function client(connect = server): Promise<{ zk: ZooKeeper; closedWith: () => number | undefined }> {
  const zk = await connectZooKeeper(connect, { sessionTimeout: 4000, config: patient });
  clients.push(zk);
  let code: number | undefined;
  zk.once("close", (_: unknown, closed: number) => {
    code = closed;
  });
  return { zk, closedWith: () => code };
}

it("expires the sessions of several busy clients at once; each hears -112 and loses its ephemeral node", async () => {
  const observer = await client();
  const victims = await Promise.all([client(), client(), client()]);
  const nodes = victims.map(() => `/expire-${randomUUID()}`);
  await Promise.all(victims.map(({ zk }, i) => zk.create(nodes[i]!, "", ZooKeeper.constants.ZOO_EPHEMERAL)));
  // The victims keep talking to the server meanwhile, so they reconnect as fast as they can.
  let busy = true;
  const chatter = victims.map(async ({ zk, closedWith }) => {
    while (busy && closedWith() === undefined) await zk.exists("/", false).catch(() => {});
  });
  await Promise.all(victims.map(({ zk }) => expireSession(zk)));
  await waitFor(() => victims.every(({ closedWith }) => closedWith() === -112), {
    message: "every victim to hear that its session expired",
  });
  busy = false;
  await Promise.all(chatter);
  for (const node of nodes) expect(await observer.zk.pathExists(node, false)).toBe(false);
});

it("expires a cut-off client's session by id and password, through the servers' own address", async () => {
  const proxy = await startProxy(server);
  proxies.push(proxy);
  const victim = await client(proxy.connectString);
  const observer = await client();
  const node = `/expire-${randomUUID()}`;
  await victim.zk.create(node, "", ZooKeeper.constants.ZOO_EPHEMERAL);
  proxy.blackhole();
  await expireSession(
    { sessionId: String(victim.zk.client_id), password: victim.zk.client_password },
    { connect: server },
  );
  // Gone on the server at once; the victim only hears of it once it can reach the server again.
  expect(await observer.zk.pathExists(node, false)).toBe(false);
  expect(victim.closedWith()).toBeUndefined();
  proxy.heal();
  await waitFor(() => victim.closedWith() === -112, { timeoutMs: 15_000, message: "the victim to hear" });

  await expect(expireSession({ sessionId: "1", password: "x" })).rejects.toMatchObject({
    code: "INVALID_ARGUMENT",
  });
});

it("expires a session whose password is given in lowercase hex, as Buffer#toString('hex') writes it", async () => {
  const victim = await client();
  const observer = await client();
  const node = `/expire-${randomUUID()}`;
  await victim.zk.create(node, "", ZooKeeper.constants.ZOO_EPHEMERAL);
  await expireSession(
    { sessionId: String(victim.zk.client_id), password: victim.zk.client_password.toLowerCase() },
    { connect: server },
  );
  // A password the binding misread would be refused like an expired session's, with the session alive.
  expect(await observer.zk.pathExists(node, false)).toBe(false);
  await waitFor(() => victim.closedWith() === -112, {
    message: "the victim to hear that its session expired",
  });
});

it.each([
  ["a password of 31 hex digits", { sessionId: "1", password: "0".repeat(31) }],
  ["a password that is not hex", { sessionId: "1", password: "z".repeat(32) }],
  ["a session id that is not hex", { sessionId: "12g", password: "0".repeat(32) }],
  ["an empty session id", { sessionId: "", password: "0".repeat(32) }],
])("refuses %s with INVALID_ARGUMENT, before joining anything", async (_, credentials) => {
  await expect(expireSession(credentials, { connect: server })).rejects.toMatchObject({
    name: "ZooKeeperTestingError",
    code: "INVALID_ARGUMENT",
  });
});
