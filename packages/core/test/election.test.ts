// Leader elections on the shared server, each candidate on its own session: terms and their
// tokens, who leads for observers, lead()'s requeue after an expiry, and the election's directory
// deleted from outside (CURATOR-724).
import { waitFor } from "@zk-dist-lock/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import {
  isLockError,
  LeadershipLostError,
  type Participant,
  type Term,
  type ZkElection,
} from "../src/index.js";
import { invalidArgument } from "./support/client.js";
import {
  childrenOf,
  closeClients,
  connectClient,
  eventsNamed,
  killSession,
  startManager,
  type TestManager,
  uniqueRoot,
} from "./support/zk.js";

const connect = inject("zkConnect");
const name = "scheduler";

describe("a leader election", () => {
  const managers: TestManager[] = [];
  const stops: AbortController[] = [];

  afterEach(async () => {
    for (const stop of stops) stop.abort();
    stops.length = 0;
    await Promise.allSettled(managers.map(({ manager }) => manager.close()));
    managers.length = 0;
    closeClients();
  });

  async function candidates(rootDir: string, count: number, sessionTimeoutMs = 10_000) {
    const started = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        startManager(connect, { label: `pod-${i}`, sessionTimeoutMs }).then((m) => {
          managers.push(m);
          return m;
        }),
      ),
    );
    return started.map((m) => ({ ...m, election: m.manager.createElection(name, { rootDir }) }));
  }

  /** Everything `observe()` yields, as "label" or "none", until the test ends. */
  function follow(election: ZkElection): string[] {
    const seen: string[] = [];
    const stop = new AbortController();
    stops.push(stop);
    void (async () => {
      for await (const leader of election.observe({ signal: stop.signal })) seen.push(labelOf(leader));
    })();
    return seen;
  }

  /** lead() with a function that records its terms and works until its term's signal aborts. */
  function leadRecorded(election: ZkElection) {
    const terms: (Term & { ended?: unknown })[] = [];
    const stop = new AbortController();
    stops.push(stop);
    const leading = election.lead(
      async (term) => {
        const record: Term & { ended?: unknown } = { ...term };
        terms.push(record);
        await aborted(term.signal);
        record.ended = term.signal.reason;
      },
      { signal: stop.signal },
    );
    return { terms, stop, leading };
  }

  it("elects one candidate at a time, with a larger token for every new term", async () => {
    const rootDir = uniqueRoot("election");
    const [a, b, watcher] = await candidates(rootDir, 3);
    const elected: bigint[] = [];
    a!.election.on("elected", ({ token }) => elected.push(token));
    const first = await a!.election.campaign();
    expect(a!.election).toMatchObject({ isLeader: true, state: "leading", token: first });
    const second = b!.election.campaign();
    await waitFor(async () => (await childrenOf(a!.client, `${rootDir}/${name}`)).length === 2, {
      message: "b in the queue",
    });
    expect(b!.election.state).toBe("campaigning");
    expect(b!.election.isLeader).toBe(false);
    expect(b!.election.signal.aborted).toBe(true);

    // Anyone can ask who leads, without campaigning.
    const leader = await watcher!.election.leader();
    expect(leader?.sessionId).toBe(a!.client.sessionId);
    expect(leader?.owner?.label).toBe("pod-0");
    expect(watcher!.election.state).toBe("idle");
    expect(await a!.election.campaign()).toBe(first); // already leading: the same term

    const signal = a!.election.signal;
    await a!.election.resign();
    expect(signal.reason).toMatchObject({ code: "NOT_HELD" });
    expect(a!.election).toMatchObject({ isLeader: false, state: "idle", token: undefined });
    const next = await second;
    expect(next).toBeGreaterThan(first);
    expect((await watcher!.election.leader())?.sessionId).toBe(b!.client.sessionId);
    expect(elected).toEqual([first]);

    // A new term of the first candidate outranks both earlier ones.
    const again = a!.election.campaign();
    await b!.election.resign();
    expect(await again).toBeGreaterThan(next);
    await a!.election.resign();
    expect(await watcher!.election.leader()).toBeUndefined();
    // Terms are holds of the manager too: its events name the election.
    expect(eventsNamed(a!.events, "acquired").map((e) => e.resource)).toEqual([name, name]);
  });

  it("lets observers follow who leads: nobody, each leader in turn, nobody again", async () => {
    const rootDir = uniqueRoot("observe");
    const [a, b, watcher] = await candidates(rootDir, 3);
    const seen = follow(watcher!.election);
    await waitFor(() => seen.length === 1, { message: "the first answer" });
    expect(seen).toEqual(["none"]); // the election's directory does not even exist yet
    await a!.election.campaign();
    await waitFor(() => seen.length === 2, { message: "the first leader" });
    const waiting = b!.election.campaign();
    await waitFor(async () => (await childrenOf(a!.client, `${rootDir}/${name}`)).length === 2, {
      message: "b in the queue",
    });
    await a!.election.resign();
    await waiting;
    await waitFor(() => seen.length === 3, { message: "the second leader" });
    await b!.election.resign();
    await waitFor(() => seen.length === 4, { message: "nobody leading" });
    expect(seen).toEqual(["none", "pod-0", "pod-1", "none"]);
  });

  it("tells a leader whose session expired: its signal aborts with LeadershipLostError", async () => {
    const rootDir = uniqueRoot("expiry");
    const [a, b] = await candidates(rootDir, 2, 4000);
    const lostEvents: unknown[] = [];
    a!.election.on("lost", ({ error }) => lostEvents.push(error));
    const token = await a!.election.campaign();
    const next = b!.election.campaign();

    await killSession(connect, a!.client);
    await waitFor(() => a!.election.signal.aborted, { message: "a's signal to abort" });
    const { reason } = a!.election.signal;
    expect(reason).toBeInstanceOf(LeadershipLostError);
    expect(String(reason)).toMatch(/Leadership of "scheduler" was lost: the ZooKeeper session expired/);
    expect(a!.election).toMatchObject({ state: "lost", isLeader: false });
    expect(lostEvents).toEqual([reason]);
    expect(eventsNamed(a!.events, "lost").map((e) => [e.resource, e.error])).toEqual([[name, reason]]);
    expect(await next).toBeGreaterThan(token);
    // Campaigning again needs a live session: until then it fails at once, leaving nothing behind.
    await expect(a!.election.campaign()).rejects.toSatisfy((error) => isLockError(error, "CONNECTION"));
    expect(a!.election.state).toBe("idle");
  });

  it("with lead(), ends the term of a leader whose session expired and campaigns again on the next session", async () => {
    const rootDir = uniqueRoot("requeue");
    const [a, b] = await candidates(rootDir, 2, 4000);
    const ledA = leadRecorded(a!.election);
    await waitFor(() => ledA.terms.length === 1, { message: "a to lead" });
    const ledB = leadRecorded(b!.election);
    await waitFor(async () => (await childrenOf(b!.client, `${rootDir}/${name}`)).length === 2, {
      message: "b in the queue",
    });

    await killSession(connect, a!.client);
    // The term ends at the suspension that comes first (a suspended leader cannot know it still
    // leads), or at the expiry itself.
    await waitFor(() => ledA.terms[0]?.ended !== undefined, { message: "a's term to end" });
    expect(ledA.terms[0]!.ended).toSatisfy(
      (error) => isLockError(error, "CONNECTION") || isLockError(error, "LOST"),
    );
    await waitFor(() => ledB.terms.length === 1, { message: "b to lead" });
    expect(ledB.terms[0]!.token).toBeGreaterThan(ledA.terms[0]!.token);

    // With init() clients, the application gives the manager a new one; lead() goes on with it.
    const fresh = await connectClient(connect, 4000);
    a!.manager.init(fresh.zk);
    await waitFor(async () => (await childrenOf(fresh, `${rootDir}/${name}`)).length === 2, {
      message: "a to campaign again on its new session",
    });
    ledB.stop.abort();
    await ledB.leading;
    await waitFor(() => ledA.terms.length === 2, { message: "a to lead again" });
    expect(ledA.terms[1]!.token).toBeGreaterThan(ledB.terms[0]!.token);
    expect((await b!.election.leader())?.sessionId).toBe(fresh.sessionId);
    expect(ledB.terms[0]!.ended).toMatchObject({ code: "ABORTED" });
  });

  it("recovers when the election's directory is deleted from outside (CURATOR-724)", async () => {
    const rootDir = uniqueRoot("deleted");
    const [a, b] = await candidates(rootDir, 2);
    const ledA = leadRecorded(a!.election);
    await waitFor(() => ledA.terms.length === 1, { message: "a to lead" });
    const ledB = leadRecorded(b!.election);
    const dir = `${rootDir}/${name}`;
    await waitFor(async () => (await childrenOf(b!.client, dir)).length === 2, { message: "b queued" });

    // An operator wipes the election: both nodes, then the directory.
    const operator = await connectClient(connect);
    // A candidate may re-campaign between the two steps (NOTEMPTY, or NONODE for a node its owner
    // deleted): wipe again until the directory is gone.
    await waitFor(
      async () => {
        for (const node of await childrenOf(operator, dir))
          await operator.delete(`${dir}/${node}`).catch(() => {});
        return operator.delete(dir).then(
          () => true,
          () => false,
        );
      },
      { message: "the directory deleted" },
    );

    await waitFor(() => ledA.terms[0]?.ended !== undefined, { message: "a's term to end" });
    expect(String(ledA.terms[0]!.ended)).toMatch(/its node was deleted from outside/);
    // Reported as any lost hold is, to the manager's listeners (and the lost channel). The wipe may
    // also take a term a won again between its rounds; that one is reported the same way.
    const lost = eventsNamed(a!.events, "lost");
    expect(lost).toContainEqual(
      expect.objectContaining({ resource: name, token: ledA.terms[0]!.token, error: ledA.terms[0]!.ended }),
    );
    for (const event of lost) expect(String(event.error)).toMatch(/its node was deleted from outside/);
    // Both campaign again: one leads, each has exactly one node, and the new term outranks the old.
    // Whether b leads briefly in between (its re-list may come after a's node went but before its
    // own did) is a race, so wait for a term that stands, not for a number of terms.
    const standing = () => [...ledA.terms, ...ledB.terms].find((term) => term.ended === undefined);
    await waitFor(() => standing() !== undefined, { message: "a new leader" });
    expect(standing()!.token).toBeGreaterThan(ledA.terms[0]!.token);
    await waitFor(async () => (await childrenOf(operator, dir)).length === 2, {
      message: "both queued again",
    });
    expect([a!.election.isLeader, b!.election.isLeader].filter(Boolean)).toHaveLength(1);
  });

  it("resolves lead() and deletes the node when the manager closes", async () => {
    const rootDir = uniqueRoot("close");
    const [a, watcher] = await candidates(rootDir, 2);
    const ledA = leadRecorded(a!.election);
    await waitFor(() => ledA.terms.length === 1, { message: "a to lead" });
    await a!.manager.close();
    await ledA.leading;
    expect(ledA.terms[0]!.ended).toMatchObject({ code: "ABORTED" });
    expect(await childrenOf(watcher!.client, `${rootDir}/${name}`)).toEqual([]);
  });

  it("refuses bad input before sending anything", async () => {
    const [a] = await candidates(uniqueRoot("bad"), 1);
    expect(invalidArgument(() => a!.manager.createElection(""))).toMatch(/non-empty string/);
    expect(invalidArgument(() => a!.manager.createElection("x", { rootDir: "locks" }))).toMatch(
      /absolute path/,
    );
    await expect(a!.election.campaign({ timeout: -1 })).rejects.toThrow(/timeout must be a number/);
    await expect(a!.election.lead("run" as unknown as () => void)).rejects.toThrow(
      /needs a function; got "run"/,
    );
    const stop = new AbortController();
    const leading = a!.election.lead(({ signal }) => aborted(signal), { signal: stop.signal });
    await expect(a!.election.lead(() => {})).rejects.toThrow(/already running/);
    stop.abort();
    await leading;
    expect(a!.election.state).toBe("idle");
  });
});

const aborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true }),
  );

const labelOf = (leader: Participant | undefined) => leader?.owner?.label ?? "none";
