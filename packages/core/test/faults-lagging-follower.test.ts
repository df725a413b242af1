// A create whose reply is lost, and a reconnect to a follower that has not yet applied it: the
// session may move there (the client never saw the create's zxid), and the search for the
// attempt's node must not miss it and queue a second node behind it as an orphan.
import {
  connectZooKeeper,
  type EnsembleMember,
  startEnsemble,
  startProxy,
  waitFor,
  type ZooKeeperEnsemble,
} from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type ZooKeeper from "zookeeper";
import { isLockError } from "../src/index.js";
import { closeClients, startManager, uniqueRoot } from "./support/zk.js";

// How late the lagging follower applies the leader's transactions: far longer than the client's
// reconnection there takes (each test checks that the session moved before the create was applied
// there), and below the ensemble's syncLimit × tickTime (10 s).
const LAG_MS = 8000;
// A session's pings queue behind its sync at the server: the client must not give up a connection
// that is silent for the lag (after two thirds of the session timeout).
const SESSION_TIMEOUT_MS = 20_000;
const resource = "report";

describe("a lost create reply, then a reconnect to a lagging follower", () => {
  let ensemble: ZooKeeperEnsemble;

  beforeAll(async () => {
    ensemble = await startEnsemble({ laggable: true });
  }, 120_000);

  afterAll(async () => {
    closeClients();
    await ensemble?.stop();
  });

  /**
   * A manager whose only ways to the ensemble are two proxies: to the non-lagging follower, where
   * the test loses a create's reply, and to the lagging follower, refused until the test heals it
   * (so that the session starts on the other one). The directory exists, and the lagging member has
   * applied all the client has seen, before it lags.
   */
  async function onTwoFollowers(prefix: string) {
    const leader = await waitFor(() => ensemble.leader(), { timeoutMs: 30_000, message: "a leader" });
    const [lagging, other] = ensemble.members.filter((member) => member !== leader) as [
      EnsembleMember,
      EnsembleMember,
    ];
    // Undone in reverse when the test ends, or at once when a step of the setup throws, so that no
    // proxy, session or lag outlives a failed setup.
    const undo: (() => unknown)[] = [];
    const dispose = async () => {
      try {
        await ensemble.lag(lagging, 0);
      } finally {
        for (const step of undo.reverse()) await step();
      }
    };
    try {
      const toOther = await startProxy(other);
      undo.push(() => toOther.stop());
      const toLagging = await startProxy(lagging);
      undo.push(() => toLagging.stop());
      toLagging.refuse();
      const rootDir = uniqueRoot(prefix);
      const dir = `${rootDir}/${resource}`;
      const { manager } = await startManager(`${toOther.connectString},${toLagging.connectString}`, {
        rootDir,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
      });
      undo.push(() => manager.close());
      // Its syncs wait for the lag too, and its pings behind them: a session that outlasts that, on a
      // client that the binding does not close by itself meanwhile.
      const observer: ZooKeeper = await connectZooKeeper(lagging.connectString, {
        sessionTimeout: SESSION_TIMEOUT_MS,
        config: { response_counter_limit: 1_000_000_000 },
      });
      undo.push(() => observer.close());
      const lock = manager.createLock(resource);
      await lock.acquire({ timeout: 10_000 });
      await lock.release();
      const setup = {
        lock,
        dir,
        toOther,
        toLagging,
        /**
         * Waits until the client has connected to the lagging member, and checks that the member has
         * not applied the create of `path` yet: else the test would not try what it is about.
         */
        connectedWhileLagging: async (path: string | undefined) => {
          await waitFor(() => toLagging.connections === 1, {
            timeoutMs: LAG_MS,
            message: "the client's connection to the lagging member",
          });
          const shown = await observer.get_children(dir, false);
          expect(
            shown,
            `the lagging member had applied the create of ${path} before the client connected there; raise LAG_MS`,
          ).not.toContain(path?.slice(dir.length + 1));
        },
        /** Ends the lag: what the checks after send waits only for what is still held back. */
        catchUp: () => ensemble.lag(lagging, 0),
        /** The directory as the lagging member shows it once it has applied all committed so far. */
        settledChildren: async () => {
          await observer.sync(dir);
          return observer.get_children(dir, false);
        },
        [Symbol.asyncDispose]: dispose,
      };
      await setup.settledChildren();
      await ensemble.lag(lagging, LAG_MS);
      return setup;
    } catch (error) {
      await dispose().catch(() => {});
      throw error;
    }
  }

  it("adopts the node the create made instead of queueing a second one behind it", {
    timeout: 90_000,
  }, async () => {
    await using setup = await onTwoFollowers("lagging-follower");
    const { lock, dir, toOther, toLagging, settledChildren } = setup;
    const lost = toOther.dropReply({ kind: "create", path: "/_c_" }, { thenRefuse: true });
    toLagging.heal();
    // Queued behind an orphan of its own, the acquire would wait until the session ends.
    const acquired = lock.acquire({ timeout: 3 * LAG_MS }).then(
      () => true,
      (error: unknown) => error,
    );
    const reply = await lost;
    expect(reply.err, "the create whose reply was lost made its node").toBe(0);
    await setup.connectedWhileLagging(reply.path);
    const outcome = await acquired;
    await setup.catchUp();
    expect(
      outcome,
      `the acquire after the lost create reply (of ${reply.path}) and the move to the lagging member; the directory holds ${JSON.stringify(await settledChildren())}`,
    ).toBe(true);
    // Exactly one node of the attempt: the one the lost create made.
    expect(lock.nodePath).toBe(reply.path);
    expect(await settledChildren()).toEqual([reply.path?.slice(dir.length + 1)]);

    await lock.release();
    expect(await settledChildren()).toEqual([]);
  });

  it("deletes that node when the acquire gave up before the reconnect", { timeout: 90_000 }, async () => {
    await using setup = await onTwoFollowers("lagging-follower-abandon");
    const { lock, toOther, toLagging, settledChildren } = setup;
    const lost = toOther.dropReply({ kind: "create", path: "/_c_" }, { thenRefuse: true });
    const failure = await lock.acquire({ timeout: 1500 }).catch((error: unknown) => error);
    expect(isLockError(failure, "CONNECTION"), `the acquire gave up, cut off: ${failure}`).toBe(true);
    const reply = await lost;
    expect(reply.err, "the create whose reply was lost made its node").toBe(0);
    // Once connected to the lagging member, the manager looks for the node by its GUID and deletes it.
    toLagging.heal();
    await setup.connectedWhileLagging(reply.path);
    await waitFor(async () => (await settledChildren()).length === 0, {
      timeoutMs: 3 * LAG_MS,
      message: `the node of the lost create (${reply.path}) deleted after the move to the lagging member`,
    });
  });
});
