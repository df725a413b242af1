// An election across connection trouble made by a TCP proxy in front of the shared server: a
// suspended leader (CURATOR-460), the campaign again after a reconnect (CURATOR-504/-644), and a
// candidate's create whose reply was lost (CURATOR-696's "is the node found ours?").
import { startProxy, waitFor } from "@zk-dist-lock/testing";
import { describe, expect, inject, it } from "vitest";
import { isLockError, type Term } from "../src/index.js";
import { childrenOf, startManager, trackedSessions, uniqueRoot } from "./support/zk.js";

const connect = inject("zkConnect");
const name = "scheduler";

describe("an election across connection loss", () => {
  const { managers, proxies, observer } = trackedSessions(connect);

  /** A candidate whose only way to the server is a new proxy. */
  async function proxied(rootDir: string) {
    const proxy = await startProxy(connect);
    proxies.push(proxy);
    const started = await startManager(proxy.connectString, { sessionTimeoutMs: 6000 });
    managers.push(started);
    return { ...started, proxy, election: started.manager.createElection(name, { rootDir }) };
  }

  /** Blocks the proxy and resolves once the client has noticed. */
  async function cutOff(candidate: Awaited<ReturnType<typeof proxied>>) {
    const disconnects = candidate.client.disconnects;
    candidate.proxy.refuse();
    await waitFor(() => candidate.client.disconnects > disconnects, { message: "the client to be cut off" });
  }

  it("tells a suspended leader to pause, and lets it lead on with the same term once back in its session", async () => {
    const rootDir = uniqueRoot("suspended");
    const candidate = await proxied(rootDir);
    const { election } = candidate;
    const seen: string[] = [];
    for (const event of ["suspended", "reconnected", "lost", "resigned"] as const)
      election.on(event, () => seen.push(event));
    const token = await election.campaign();

    await cutOff(candidate);
    // Leading is in doubt: not a leader for isLeader, but the term (and its signal) stand.
    expect(election).toMatchObject({ state: "suspended", isLeader: false, token });
    expect(election.signal.aborted).toBe(false);
    expect(seen).toEqual(["suspended"]);

    candidate.proxy.heal();
    await waitFor(() => election.state === "leading", { message: "the leader to reconnect" });
    expect(candidate.client.closedWith).toBeUndefined();
    expect(election.token).toBe(token);
    expect(seen).toEqual(["suspended", "reconnected"]);
    await election.resign();
    expect(seen).toEqual(["suspended", "reconnected", "resigned"]);
  });

  it("ends lead()'s term at a suspension and, once reconnected, leads again with one node and a larger token", async () => {
    const rootDir = uniqueRoot("suspended-lead");
    const candidate = await proxied(rootDir);
    const terms: Term[] = [];
    const stop = new AbortController();
    const leading = candidate.election.lead(
      async (term) => {
        terms.push(term);
        await new Promise((resolve) => term.signal.addEventListener("abort", resolve, { once: true }));
      },
      { signal: stop.signal },
    );
    await waitFor(() => terms.length === 1, { message: "the first term" });

    await cutOff(candidate);
    expect(terms[0]!.signal.aborted).toBe(true);
    expect(isLockError(terms[0]!.signal.reason, "CONNECTION")).toBe(true);
    expect(String(terms[0]!.signal.reason)).toMatch(/suspended while leading "scheduler"/);

    candidate.proxy.heal();
    await waitFor(() => terms.length === 2, { message: "the second term" });
    expect(terms[1]!.token).toBeGreaterThan(terms[0]!.token);
    expect(candidate.client.closedWith).toBeUndefined();
    // The old term's node went; the new one is the only node, and it is this session's.
    const dir = `${rootDir}/${name}`;
    await waitFor(async () => (await childrenOf(observer(), dir)).length === 1, { message: "one node" });
    expect((await candidate.election.leader())?.sessionId).toBe(candidate.client.sessionId);
    expect(candidate.election.nodePath).toBe(`${dir}/${(await childrenOf(observer(), dir))[0]}`);
    stop.abort();
    await leading;
    expect(await childrenOf(observer(), dir)).toEqual([]);
  });

  it("adopts its own node after a candidate's create whose reply was lost", async () => {
    const rootDir = uniqueRoot("lost-reply");
    const candidate = await proxied(rootDir);
    const dropped = candidate.proxy.dropReply({ kind: "create", path: "/_c_" });
    const token = await candidate.election.campaign({ timeout: 10_000 });
    const reply = await dropped;
    expect(reply.err).toBe(0);
    expect(candidate.election.nodePath).toBe(reply.path);
    expect(await childrenOf(observer(), `${rootDir}/${name}`)).toHaveLength(1);
    expect(token).toBeGreaterThan(0n);
    await candidate.election.resign();
  });
});
