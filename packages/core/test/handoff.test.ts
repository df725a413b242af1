// Tokens and watches of a handover: tokens follow the queue whichever way a grant came (a listing
// that shows the node last, the blocker's deletion alone, a listing with nodes behind), a lookout's
// deletion is decided without a request when the waiter's listing allows, else with one listing, and
// the watches of a wait that ended, lookouts included, wake nothing later.
import { waitFor } from "@zk-dist-lock/testing";
import { describe, expect, inject, it } from "vitest";
import { isLockError, type ZkLock } from "../src/index.js";
import { onBinding } from "./support/kind.js";
import {
  childrenOf,
  countListings,
  eventsNamed,
  expectWatches,
  queueNodes,
  queueUp,
  sessionsPerTest,
  type TestManager,
  watchesOf,
} from "./support/zk.js";

const connect = inject("zkConnect");
const resource = "handoff";

describe("a handover", () => {
  const sessions = sessionsPerTest(connect, "handoff");

  /**
   * Resolves once `m`'s manager has read every reply and watch event its session was sent so far:
   * a reply sent later comes after them, and a turn of the event loop lets their callbacks run.
   */
  async function readReplies(m: TestManager): Promise<void> {
    await m.client.exists("/");
    await new Promise((resolve) => setImmediate(resolve));
  }

  it("gives tokens in queue order, whether a listing or a deletion granted the turn", async () => {
    const started = await sessions(6);
    const [a, r1, r2, b, x, y] = started;
    const lock = (m: TestManager, mode: "exclusive" | "shared" = "exclusive") =>
      m.manager.createLock(resource, { mode });
    const [lockA, lockR1, lockR2, lockB, lockX, lockY] = [
      lock(a!),
      lock(r1!, "shared"),
      lock(r2!, "shared"),
      lock(b!),
      lock(x!),
      lock(y!, "shared"),
    ];
    // A alone: the last node of its listing, so that listing's pzxid.
    const tokenA = await lockA.acquire();
    const readers = [
      (await queueUp(a!, resource, lockR1, 1)).acquisition,
      (await queueUp(a!, resource, lockR2, 2)).acquisition,
    ];
    const writerB = (await queueUp(a!, resource, lockB, 3)).acquisition;
    // The readers wait for A alone: its deletion lets both in, without a listing (their czxids).
    const readerLists = [countListings(r1!.client), countListings(r2!.client)];
    await lockA.release();
    const [tokenR1, tokenR2] = await Promise.all(readers);
    expect(readerLists.map((l) => l.count)).toEqual([0, 0]);

    // X's first listing shows R1 R2 B ahead of it; its reply is held back until they are gone and
    // Y queued behind X. Then X's watches find R2 and B gone, and its re-list grants it with Y
    // behind: its own czxid (with the binding, from the stat it sent as it started to wait).
    let heldBack = false;
    const yQueued: { acquisition?: Promise<bigint> } = {};
    x!.client.onCall("listed", async () => {
      if (heldBack) return;
      heldBack = true;
      await lockR1.release();
      await lockR2.release();
      await writerB;
      await lockB.release();
      yQueued.acquisition = (await queueUp(a!, resource, lockY, 1)).acquisition;
    });
    const xLists = countListings(x!.client);
    const tokenX = await lockX.acquire({ timeout: 20_000 });
    expect(heldBack).toBe(true);
    expect(xLists.count).toBe(2);
    const tokenB = await writerB;
    // Y, a reader just behind X, holds by X's deletion alone.
    const yLists = countListings(y!.client);
    await lockX.release();
    const tokenY = await yQueued.acquisition!;
    expect(yLists.count).toBe(0);
    await lockY.release();

    const tokens = [tokenA, tokenR1, tokenR2, tokenB, tokenX, tokenY];
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]!).toBeGreaterThan(tokens[i - 1]!);
  });

  it("lets the waiter two behind decide at its lookout's deletion, its blocker's watch kept: no listing, no new watch", async () => {
    const [h, w1, w2] = (await sessions(3)) as [TestManager, TestManager, TestManager];
    const [lockH, lockW1, lockW2] = [h, w1, w2].map((m) => m.manager.createLock(resource));
    await lockH!.acquire();
    const first = (await queueUp(h, resource, lockW1!, 1)).acquisition;
    const second = (await queueUp(h, resource, lockW2!, 2)).acquisition;
    const [nH, n1, n2] = (await queueNodes(h, resource)) as [string, string, string];
    await expectWatches(connect, w2, [nH, n1, n2], "W2's watches on W1, its lookout H, and itself");
    const w2Lists = countListings(w2.client);
    let w2Watches = 0;
    w2.client.onCall("watching", () => w2Watches++);

    // H's deletion lets W1 in and fires W2's lookout: W1 alone is left ahead of W2, whose watch on
    // W1 stays set, and W1's deletion will be W2's turn.
    await lockH!.release();
    const tokenW1 = await first;
    await readReplies(w2);
    await expectWatches(connect, w2, [n1, n2], "W2's watches on W1 and itself");
    await lockW1!.release();
    expect(await second).toBeGreaterThan(tokenW1);
    expect([w2Lists.count, w2Watches]).toEqual([0, 0]);
    await lockW2!.release();
  });

  it("moves the waiter's lookout along as the nodes ahead of its blocker leave, keeping its blocker's watch", async () => {
    const [e0, e1, s2, w] = (await sessions(4)) as [TestManager, TestManager, TestManager, TestManager];
    const [lockE0, lockE1, lockS2, lockW] = [
      e0.manager.createLock(resource),
      e1.manager.createLock(resource),
      s2.manager.createLock(resource, { mode: "shared" }),
      w.manager.createLock(resource),
    ];
    await lockE0.acquire();
    const giveUpE1 = new AbortController();
    const waits = {
      e1: (await queueUp(e0, resource, { acquire: () => lockE1.acquire({ signal: giveUpE1.signal }) }, 1))
        .acquisition,
      s2: (await queueUp(e0, resource, lockS2, 2)).acquisition,
      w: (await queueUp(e0, resource, lockW, 3)).acquisition,
    };
    const [n0, n1, n2, n3] = (await queueNodes(e0, resource)) as [string, string, string, string];
    // W waits for S2 and looks out for E1, what S2 waits for.
    await expectWatches(connect, w, [n1, n2, n3], "W's watches on S2, its lookout E1, and itself");
    const wLists = countListings(w.client);
    let wWatches = 0;
    w.client.onCall("watching", () => wWatches++);

    // E1 gives up: W lists, finds itself still behind S2, and looks out for E0 now.
    giveUpE1.abort();
    expect(isLockError(await waits.e1.catch((e: unknown) => e), "ABORTED")).toBe(true);
    await expectWatches(connect, w, [n0, n2, n3], "W's watches on S2, its new lookout E0, and itself");
    expect([wLists.count, wWatches]).toEqual([1, 1]);

    // E0's release lets S2 in and fires W's lookout: W's listing less E0 shows S2's deletion as
    // W's turn, without a request.
    await lockE0.release();
    const tokenS2 = await waits.s2;
    await readReplies(w);
    await expectWatches(connect, w, [n2, n3], "W's watches on S2 and itself");
    await lockS2.release();
    expect(await waits.w).toBeGreaterThan(tokenS2);
    expect([wLists.count, wWatches]).toEqual([1, 1]);
    await lockW.release();
  });

  it("lists once, rather than read its way back through the nodes that left unseen, when its lookout goes", async () => {
    const started = (await sessions(5)) as [TestManager, TestManager, TestManager, TestManager, TestManager];
    const [x, , , , n] = started;
    const [lockX, lockA, lockB, lockC, lockN] = started.map((m) => m.manager.createLock(resource));
    await lockX!.acquire();
    const waits = {
      a: (await queueUp(x, resource, lockA!, 1)).acquisition,
      b: (await queueUp(x, resource, lockB!, 2)).acquisition,
      c: (await queueUp(x, resource, lockC!, 3)).acquisition,
      n: (await queueUp(x, resource, lockN!, 4)).acquisition,
    };
    const [, , n2, n3, n4] = (await queueNodes(x, resource)) as [string, string, string, string, string];
    await expectWatches(connect, n, [n2, n3, n4], "N's watches on C, its lookout B, and itself");
    const nLists = countListings(n.client);
    let nWatches = 0;
    n.client.onCall("watching", () => nWatches++);

    // X and A hold and leave unseen by N; B's release lets C in and fires N's lookout. N's listing
    // still shows X and A ahead of C: one new listing shows C alone ahead, where reading X and A
    // in turn would have cost two round trips.
    await lockX!.release();
    await waits.a;
    await lockA!.release();
    await waits.b;
    await lockB!.release();
    const tokenC = await waits.c;
    await expectWatches(connect, n, [n3, n4], "N's watches on C and itself");
    // N reads its listing's reply before C leaves: C's deletion heard while the listing is still
    // out would cost a second one, as N could not tell which of the two came first.
    await waitFor(() => nLists.count > 0, { message: "N's listing at its lookout's deletion" });
    await readReplies(n);
    expect([nLists.count, nWatches]).toEqual([1, 0]);

    await lockC!.release();
    expect(await waits.n).toBeGreaterThan(tokenC);
    expect([nLists.count, nWatches]).toEqual([1, 0]);
    await lockN!.release();
  });

  it("gives up at once a waiter whose node is deleted from outside, rather than let it in at its blocker's deletion beside the node behind", async () => {
    const [h, w, x] = (await sessions(3)) as [TestManager, TestManager, TestManager];
    const [lockH, lockW, lockX] = [h, w, x].map((m) => m.manager.createLock(resource)) as [
      ZkLock,
      ZkLock,
      ZkLock,
    ];
    await lockH.acquire();
    const waits = {
      w: (await queueUp(h, resource, lockW, 1)).acquisition,
      x: (await queueUp(h, resource, lockX, 2)).acquisition,
    };
    const [nH, nW, nX] = (await queueNodes(h, resource)) as [string, string, string];
    // W, whose turn H's deletion will be, watches itself as well as H.
    await expectWatches(connect, w, [nH, nW], "W's watches on H and on itself");
    await expectWatches(connect, x, [nH, nW, nX], "X's watches on W, its lookout H, and itself");

    // An operator deletes W's node: X, which saw it go, now waits for H alone; W gives up.
    const wFailed = waits.w.catch((e: unknown) => e);
    await h.client.delete(nW);
    await waitFor(() => lockW.state === "idle", { message: "W given up while H still holds" });
    const failure = await wFailed;
    expect(isLockError(failure, "CONNECTION")).toBe(true);
    expect(String(failure)).toMatch(/deleted from outside/);
    await expectWatches(connect, x, [nH, nX], "X's watches on H and itself");

    // H's deletion lets X alone in.
    const tokenH = lockH.token!;
    await lockH.release();
    expect(await waits.x).toBeGreaterThan(tokenH);
    expect(eventsNamed(w.events, "acquired")).toEqual([]);
    expect(await childrenOf(h.client, lockX.path)).toEqual([nX.split("/").pop()]);
    await lockX.release();
  });

  it("wakes nothing with the watches of waits that ended: a lookout left behind, a waiter that gave up", async () => {
    const started = await sessions(5);
    const [w0, r1, w2, r3, x] = started as TestManager[];
    const [lockW0, lockR1, lockW2, lockR3, lockX] = [
      w0!.manager.createLock(resource),
      r1!.manager.createLock(resource, { mode: "shared" }),
      w2!.manager.createLock(resource),
      r3!.manager.createLock(resource, { mode: "shared" }),
      x!.manager.createLock(resource),
    ];
    await lockW0.acquire();
    const giveUpW2 = new AbortController();
    const giveUpX = new AbortController();
    const waits = {
      r1: (await queueUp(w0!, resource, lockR1, 1)).acquisition,
      w2: (await queueUp(w0!, resource, { acquire: () => lockW2.acquire({ signal: giveUpW2.signal }) }, 2))
        .acquisition,
      r3: (await queueUp(w0!, resource, lockR3, 3)).acquisition,
      x: (await queueUp(w0!, resource, { acquire: () => lockX.acquire({ signal: giveUpX.signal }) }, 4))
        .acquisition,
    };
    const [n0, n1, n2, n3, n4] = (await queueNodes(w0!, resource)) as [
      string,
      string,
      string,
      string,
      string,
    ];
    // R3 waits for W2 and looks out for R1 (what W2 waits for); X waits for R3 and looks out for W2.
    // Each watches itself too.
    await expectWatches(connect, r3!, [n1, n2, n3], "R3's watches on W2, its lookout R1, and itself");
    await expectWatches(connect, x!, [n2, n3, n4], "X's watches on R3, its lookout W2, and itself");

    // W2 gives up: R3 lists again and waits for W0 alone, leaving its lookout on R1 behind (removed
    // at the server where the client can).
    const r3Lists = countListings(r3!.client);
    giveUpW2.abort();
    expect(isLockError(await waits.w2.catch((e: unknown) => e), "ABORTED")).toBe(true);
    await waitFor(() => r3Lists.count === 1, { message: "R3's re-list at W2's deletion" });
    if (onBinding)
      await waitFor(async () => (await watchesOf(connect, r3!)).includes(n0), { message: "R3 on W0" });
    else await expectWatches(connect, r3!, [n0, n3], "R3's watches on W0 and itself, its lookout removed");
    // X gives up while waiting: its node and watches go, and nothing of it wakes later.
    giveUpX.abort();
    expect(isLockError(await waits.x.catch((e: unknown) => e), "ABORTED")).toBe(true);
    if (!onBinding) await expectWatches(connect, x!, [], "X's watches removed");

    // W0's deletion alone lets both readers in; R1's release later fires R3's old lookout (the
    // binding keeps it), which changes nothing.
    await lockW0.release();
    await Promise.all([waits.r1, waits.r3]);
    expect(r3Lists.count).toBe(1);
    await lockR1.release();
    expect(await r3!.client.exists(n1)).toBe(false);
    expect(lockR3.state).toBe("held");
    expect([lockW2.state, lockX.state]).toEqual(["idle", "idle"]);
    expect(eventsNamed(x!.events, "acquired")).toEqual([]);
    expect(eventsNamed(r3!.events, "acquired")).toHaveLength(1);
    await lockR3.release();
    expect(await childrenOf(w0!.client, lockR3.path)).toEqual([]);
    expect(await watchesOf(connect, r3!)).toEqual([]);
  });
});
