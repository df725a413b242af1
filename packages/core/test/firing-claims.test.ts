// Once-per-firing claims on the shared server: one winner per job and fire time among sessions,
// a claim that outlives its run, a create whose reply was lost (also with the session expiring
// before the client heard), the layout of day and minute buckets, and the pruning of old claims
// and of the buckets they leave empty.
import { ZooKeeperClient } from "@zk-dist-lock/client";
import { startProxy, waitFor } from "@zk-dist-lock/testing";
import { describe, expect, inject, it } from "vitest";
import { isLockError, ZkLockManager } from "../src/index.js";
import { invalidArgument } from "./support/client.js";
import { onBinding } from "./support/kind.js";
import {
  childrenOf,
  connectClient,
  connectManager,
  killSessionOf,
  startManager,
  type TestClient,
  trackedSessions,
  uniqueRoot,
} from "./support/zk.js";

const connect = inject("zkConnect");
const job = "nightly-report";
const at = (iso: string) => Date.parse(iso);

/** Every node below `dir` (buckets and claims), as paths relative to it, sorted. */
async function nodesUnder(client: TestClient, dir: string, prefix = ""): Promise<string[]> {
  const nodes: string[] = [];
  for (const child of await childrenOf(client, dir)) {
    nodes.push(`${prefix}${child}`, ...(await nodesUnder(client, `${dir}/${child}`, `${prefix}${child}/`)));
  }
  return nodes.sort();
}

/** The fire times of the claims below a job's directory, in ISO 8601, sorted. */
async function claimTimes(client: TestClient, dir: string): Promise<string[]> {
  const nodes = await nodesUnder(client, dir);
  return nodes
    .map((node) => node.split("/"))
    .filter((levels) => levels.length === 3)
    .map(([day, minute, name]) => `${day}T${minute}:${name}`);
}

describe("once-per-firing claims", () => {
  const { managers, proxies, observer } = trackedSessions(connect);

  async function claimant(target = connect) {
    const started = await startManager(target, { label: `claimant-${managers.length}` });
    managers.push(started);
    return started;
  }

  async function newProxy() {
    const proxy = await startProxy(connect);
    proxies.push(proxy);
    return proxy;
  }

  // The firing whose claim's create reply the proxy loses, and that create.
  const lostFiring = at("2030-01-01T04:00:00.000Z");
  const lostCreate = { kind: "create", path: "/04:00/00.000Z" } as const;

  it("gives each firing to exactly one of the sessions claiming it, and to nobody later", async () => {
    const rootDir = uniqueRoot("claims");
    const claimants = await Promise.all([claimant(), claimant(), claimant()]);
    const claims = claimants.map(({ manager }) => manager.createFiringClaims(job, { rootDir }));
    const firing = at("2030-01-01T03:00:00.000Z");
    const won = await Promise.all(claims.map((claim) => claim.claim(firing)));
    expect(won.filter(Boolean)).toHaveLength(1);
    // Long after the winner finished, a late instance still finds the claim.
    expect(await claims[won.indexOf(false)]!.claim(new Date(firing))).toBe(false);
    // The next firing is another claim.
    expect(
      (await Promise.all(claims.map((claim) => claim.claim(firing + 60_000)))).filter(Boolean),
    ).toHaveLength(1);
    // Each claim in the bucket of its day and of its minute.
    expect(await nodesUnder(observer(), `${rootDir}/${job}`)).toEqual([
      "2030-01-01",
      "2030-01-01/03:00",
      "2030-01-01/03:00/00.000Z",
      "2030-01-01/03:01",
      "2030-01-01/03:01/00.000Z",
    ]);
  });

  it("recognises its own claim after a create whose reply was lost", async () => {
    const rootDir = uniqueRoot("lost-claim");
    const proxy = await newProxy();
    const proxied = await claimant(proxy.connectString);
    const other = await claimant();
    const dropped = proxy.dropReply(lostCreate);
    expect(await proxied.manager.createFiringClaims(job, { rootDir }).claim(lostFiring)).toBe(true);
    expect((await dropped).err).toBe(0); // the server had created it; the client never heard
    expect(proxied.client.connects).toBe(2);
    expect(await other.manager.createFiringClaims(job, { rootDir }).claim(lostFiring)).toBe(false);
  });

  it("wins the claim whose reply was lost when the session expired before the client heard (connect())", async () => {
    const rootDir = uniqueRoot("lost-claim-expiry");
    const proxy = await newProxy();
    const manager = await connectManager(proxy.connectString, { sessionTimeout: 2000 });
    try {
      const other = await claimant();
      const states: string[] = [];
      manager.on("connectionState", ({ state }) => states.push(state));
      const dropped = proxy.dropReply(lostCreate, { thenRefuse: true });
      const claimed = manager
        .createFiringClaims(job, { rootDir })
        .claim(lostFiring)
        .catch((error: unknown) => error);
      expect((await dropped).err).toBe(0); // stored; the client never heard
      // Cut off for longer than the session timeout: the manager gives the session up.
      await waitFor(() => states.includes("expired"), { message: "the session to be given up" });
      proxy.heal();
      // On its next session it finds its own claim, so the firing runs; nobody else claims it.
      expect(await claimed).toBe(true);
      expect(states.filter((state) => state === "expired")).toHaveLength(1);
      expect(await other.manager.createFiringClaims(job, { rootDir }).claim(lostFiring)).toBe(false);
    } finally {
      await manager.close();
    }
  });

  it("says a claim is undecided when an init() client's session expired before it heard, and decides on a retry", async () => {
    const rootDir = uniqueRoot("lost-claim-init");
    const proxy = await newProxy();
    const proxied = await claimant(proxy.connectString);
    const other = await claimant();
    const claims = proxied.manager.createFiringClaims(job, { rootDir });
    const dropped = proxy.dropReply(lostCreate, { thenRefuse: true });
    const claimed = claims.claim(lostFiring).catch((error: unknown) => error);
    expect((await dropped).err).toBe(0);
    // Expired at the server while the client is cut off (it hears of it once healed).
    await killSessionOf(connect, proxied.client.zk, () => true);
    proxy.heal();
    const failure = await claimed;
    expect(isLockError(failure, "CONNECTION"), String(failure)).toBe(true);
    expect((failure as Error).message).toMatch(
      /^The claim of "nightly-report" for 2030-01-01T04:00:00.000Z is undecided: .* call claim\(\) again for 2030-01-01T04:00:00.000Z on this ZkFiringClaims once init\(\) has a new client/,
    );
    // Nobody else may run it: the claim is this caller's.
    expect(await other.manager.createFiringClaims(job, { rootDir }).claim(lostFiring)).toBe(false);
    const next = await connectClient(connect);
    proxied.manager.init(next.zk);
    expect(await claims.claim(lostFiring)).toBe(true);
    // The retry took the undecided claim over: a later call is a late instance's.
    expect(await claims.claim(lostFiring)).toBe(false);
  });

  it("deletes claims older than the retention and the buckets they empty, after a won claim and on demand", async () => {
    const rootDir = uniqueRoot("prune");
    const { manager } = await claimant();
    const claims = manager.createFiringClaims(job, { rootDir, retention: 60_000 });
    const dir = `${rootDir}/${job}`;
    for (const minute of [0, 1, 2]) await claims.claim(at(`2030-01-01T05:0${minute}:00.000Z`));
    // The first claim pruned (nothing yet); later ones within a tenth of the retention do not.
    expect(await claimTimes(observer(), dir)).toHaveLength(3);
    expect(await claims.prune(at("2030-01-01T05:02:00.000Z"))).toBe(1); // 05:00 is over a minute older
    expect(await nodesUnder(observer(), dir)).toEqual([
      "2030-01-01",
      "2030-01-01/05:01",
      "2030-01-01/05:01/00.000Z",
      "2030-01-01/05:02",
      "2030-01-01/05:02/00.000Z",
    ]);

    // A new handle prunes after its first won claim, in the background: the day's buckets too.
    await manager
      .createFiringClaims(job, { rootDir, retention: 60_000 })
      .claim(at("2030-01-02T06:00:00.000Z"));
    await waitFor(async () => (await nodesUnder(observer(), dir)).length === 3, {
      message: "old claims and their buckets pruned",
    });
    expect(await nodesUnder(observer(), dir)).toEqual([
      "2030-01-02",
      "2030-01-02/06:00",
      "2030-01-02/06:00/00.000Z",
    ]);
    expect(await claims.prune(at("2030-01-02T06:00:00.000Z"))).toBe(0);
    // However late the time pruned for, the newest claim stays.
    expect(await claims.prune(at("2031-01-01T00:00:00.000Z"))).toBe(0);
    expect(await claimTimes(observer(), dir)).toEqual(["2030-01-02T06:00:00.000Z"]);
  });

  it("creates its bucket again when another process pruned it away", async () => {
    const rootDir = uniqueRoot("pruned-bucket");
    const [late, pruner] = await Promise.all([claimant(), claimant()]);
    const lateClaims = late.manager.createFiringClaims(job, { rootDir, retention: 60_000 });
    const prunerClaims = pruner.manager.createFiringClaims(job, { rootDir, retention: 60_000 });
    expect(await lateClaims.claim(at("2030-01-01T07:00:00.000Z"))).toBe(true);
    // The next day's claim; pruning for it deletes the whole of the first day, buckets and all.
    expect(await prunerClaims.claim(at("2030-01-02T07:00:00.000Z"))).toBe(true);
    await prunerClaims.prune(at("2030-01-02T07:00:00.000Z"));
    const dir = `${rootDir}/${job}`;
    expect(await childrenOf(observer(), dir)).toEqual(["2030-01-02"]);
    // The late process still takes the first day's buckets for existing.
    expect(await lateClaims.claim(at("2030-01-01T07:00:30.000Z"))).toBe(true);
    expect(await claimTimes(observer(), dir)).toEqual([
      "2030-01-01T07:00:30.000Z",
      "2030-01-02T07:00:00.000Z",
    ]);
  });

  it("leaves a bucket that a late claim entered while it was being pruned", async () => {
    const rootDir = uniqueRoot("raced-bucket");
    const pruner = await claimant();
    const claims = pruner.manager.createFiringClaims(job, { rootDir, retention: 60_000 });
    const dir = `${rootDir}/${job}`;
    await claims.claim(at("2030-01-01T05:00:00.000Z"));
    await claims.claim(at("2030-01-01T06:00:00.000Z"));
    // A claim lands in the 05:00 bucket just before the pruner's deletion of that bucket.
    const bucket = `${dir}/2030-01-01/05:00`;
    let raced: Promise<number> | undefined;
    pruner.client.onCall("delete", (path) => {
      if (path === bucket) raced ??= pruner.client.createRc(`${bucket}/30.000Z`);
    });
    expect(await claims.prune(at("2030-01-01T06:00:00.000Z"))).toBe(1);
    expect(await raced).toBe(0);
    expect(await claimTimes(observer(), dir)).toEqual([
      "2030-01-01T05:00:30.000Z",
      "2030-01-01T06:00:00.000Z",
    ]);
    expect(pruner.events.filter(({ name }) => name === "cleanupFailed")).toEqual([]);
    // The next prune takes it.
    expect(await claims.prune(at("2030-01-01T06:00:00.000Z"))).toBe(1);
    expect(await nodesUnder(observer(), dir)).toEqual([
      "2030-01-01",
      "2030-01-01/06:00",
      "2030-01-01/06:00/00.000Z",
    ]);
  });

  // The limit is an option of @zk-dist-lock/client (the binding takes replies of any size), so
  // this runs on it alone.
  it.skipIf(onBinding)(
    "prunes a job with more claims than one listing could carry, its connection up throughout",
    async () => {
      const rootDir = uniqueRoot("many-claims");
      // Replies up to 64 KiB, as jute.maxbuffer's 1 MiB scaled down: one listing of the job's 4,000
      // claims by their full ISO time would take 4,000 × (24 + 4) bytes, 112 KB, and fail (the
      // client skips the reply) or, with a client that drops the connection over it, flap it.
      const zk = new ZooKeeperClient(connect, { sessionTimeout: 10_000, maxPacketBytes: 64 * 1024 });
      await zk.start();
      const manager = new ZkLockManager().init(zk);
      try {
        const claims = manager.createFiringClaims(job, { rootDir, retention: 100_000 });
        const first = at("2030-01-01T07:00:00.000Z");
        // 4,000 firings 100 ms apart (@Interval(100)): 07:00:00.000 to 07:06:39.900.
        const times = Array.from({ length: 4000 }, (_, i) => first + 100 * i);
        for (let i = 0; i < times.length; i += 500) {
          const won = await Promise.all(times.slice(i, i + 500).map((time) => claims.claim(time)));
          expect(won.every(Boolean)).toBe(true);
        }
        const dropped = new Promise<never>((_, reject) => {
          manager.on("connectionState", ({ state, reason }) => {
            if (state !== "connected") reject(new Error(`the connection went ${state}: ${reason}`));
          });
        });
        const last = times.at(-1)!;
        const cutoff = last - 100_000;
        expect(await Promise.race([claims.prune(last), dropped])).toBe(
          times.filter((t) => t < cutoff).length,
        );
        expect(manager.connectionState).toBe("connected");
        const dir = `${rootDir}/${job}`;
        const kept = times.filter((t) => t >= cutoff).map((t) => new Date(t).toISOString());
        expect(await claimTimes(observer(), dir)).toEqual(kept);
        // The minutes before the cutoff's are gone; its own holds the claims after it.
        expect((await childrenOf(observer(), `${dir}/2030-01-01`)).sort()).toEqual([
          "07:04",
          "07:05",
          "07:06",
        ]);
      } finally {
        await manager.close();
        await zk.close();
      }
    },
  );

  it("files fire times past the year 9999 under their expanded year", async () => {
    const rootDir = uniqueRoot("far-claims");
    const { manager } = await claimant();
    const claims = manager.createFiringClaims(job, { rootDir, retention: 60_000 });
    const dir = `${rootDir}/${job}`;
    expect(await claims.claim(at("+010000-01-01T00:00:00.000Z"))).toBe(true);
    expect(await claims.claim(at("+010000-01-02T06:00:00.000Z"))).toBe(true);
    expect(await claims.prune(at("+010000-01-02T06:00:00.000Z"))).toBe(1);
    expect(await nodesUnder(observer(), dir)).toEqual([
      "+010000-01-02",
      "+010000-01-02/06:00",
      "+010000-01-02/06:00/00.000Z",
    ]);
  });

  it("refuses bad input before sending anything", async () => {
    const { manager } = await claimant();
    expect(invalidArgument(() => manager.createFiringClaims(""))).toMatch(/non-empty string/);
    expect(invalidArgument(() => manager.createFiringClaims(job, { retention: 0 }))).toMatch(
      /retention must be a positive/,
    );
    const claims = manager.createFiringClaims(job, { rootDir: uniqueRoot("bad") });
    await expect(claims.claim(Number.NaN)).rejects.toThrow(/valid Date or a whole number/);
    await expect(claims.claim(new Date("nope"))).rejects.toThrow(/valid Date/);
  });
});
