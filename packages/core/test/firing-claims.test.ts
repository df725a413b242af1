// Once-per-firing claims on the shared server: one winner per job and fire time among sessions,
// a claim that outlives its run, a create whose reply was lost, and the pruning of old claims.
import { startProxy, waitFor } from "@zk-dist-lock/testing";
import { describe, expect, inject, it } from "vitest";
import { invalidArgument } from "./support/client.js";
import { childrenOf, startManager, trackedSessions, uniqueRoot } from "./support/zk.js";

const connect = inject("zkConnect");
const job = "nightly-report";
const at = (iso: string) => Date.parse(iso);

describe("once-per-firing claims", () => {
  const { managers, proxies, observer } = trackedSessions(connect);

  async function claimant(target = connect) {
    const started = await startManager(target, { label: `claimant-${managers.length}` });
    managers.push(started);
    return started;
  }

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
    expect((await childrenOf(observer(), `${rootDir}/${job}`)).sort()).toEqual([
      "2030-01-01T03:00:00.000Z",
      "2030-01-01T03:01:00.000Z",
    ]);
  });

  it("recognises its own claim after a create whose reply was lost", async () => {
    const rootDir = uniqueRoot("lost-claim");
    const proxy = await startProxy(connect);
    proxies.push(proxy);
    const proxied = await claimant(proxy.connectString);
    const other = await claimant();
    const firing = at("2030-01-01T04:00:00.000Z");
    const dropped = proxy.dropReply({ kind: "create", path: "T04:00:00" });
    expect(await proxied.manager.createFiringClaims(job, { rootDir }).claim(firing)).toBe(true);
    expect((await dropped).err).toBe(0); // the server had created it; the client never heard
    expect(proxied.client.connects).toBe(2);
    expect(await other.manager.createFiringClaims(job, { rootDir }).claim(firing)).toBe(false);
  });

  it("deletes claims older than the retention, after a won claim and on demand", async () => {
    const rootDir = uniqueRoot("prune");
    const { manager } = await claimant();
    const claims = manager.createFiringClaims(job, { rootDir, retention: 60_000 });
    const dir = `${rootDir}/${job}`;
    for (const minute of [0, 1, 2]) await claims.claim(at(`2030-01-01T05:0${minute}:00.000Z`));
    // The first claim pruned (nothing yet); later ones within a tenth of the retention do not.
    expect(await childrenOf(observer(), dir)).toHaveLength(3);
    expect(await claims.prune(at("2030-01-01T05:02:00.000Z"))).toBe(1); // 05:00 is over a minute older
    expect((await childrenOf(observer(), dir)).sort()).toEqual([
      "2030-01-01T05:01:00.000Z",
      "2030-01-01T05:02:00.000Z",
    ]);

    // A new handle prunes after its first won claim, in the background.
    await manager
      .createFiringClaims(job, { rootDir, retention: 60_000 })
      .claim(at("2030-01-01T06:00:00.000Z"));
    await waitFor(async () => (await childrenOf(observer(), dir)).length === 1, {
      message: "old claims pruned",
    });
    expect(await claims.prune(at("2030-01-01T06:00:00.000Z"))).toBe(0);
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
