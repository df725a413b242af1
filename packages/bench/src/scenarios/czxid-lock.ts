import type ZooKeeper from "zookeeper";
import { mode, raw } from "../zk.js";

/**
 * Creates a sequential ephemeral node. A client with `create2` returns the node's stat with it, and
 * so its czxid; the npm `zookeeper` binding returns the path alone.
 */
export type CreateNode = (zk: ZooKeeper, path: string) => Promise<{ path: string; czxid?: number }>;

const createWithoutStat: CreateNode = async (zk, path) => ({
  path: await raw.create(zk, path, mode.EPHEMERAL_SEQUENTIAL),
});

/** How the prototype's grants were decided, for the report. */
export interface GrantCounts {
  grants: number;
  /** Granted by the predecessor's deletion alone, without listing the directory again. */
  byWatch: number;
  /** Grants that waited for a stat of their own node (an extra round trip on the way to the grant). */
  statOnPath: number;
}

/**
 * A bench-only prototype of the exclusive queue whose fencing token needs no re-list, to measure what
 * that buys (see the bench README, "Handoff without the re-list"). It is not a lock for use: no
 * timeouts, no recovery of a lost create, no session events.
 *
 * The token is the node's own czxid: sequence order is grant order within a directory, and a
 * recreated directory's nodes are younger, so czxids grow with the grants. A node that a listing
 * shows first and last may use that listing's pzxid instead: it is at least its own czxid and below
 * the czxid of every node created after the listing. So the uncontended cycle needs nothing more
 * than today's (create ∥ list, delete).
 *
 * A waiter that was second in its last listing is first once its predecessor is gone (later nodes
 * never get in front), so the watch alone grants it. A waiter further back also watches the node two
 * ahead: when that one goes, the predecessor holds, and a re-list then (off the path of the next
 * handoff) finds this waiter second. With the npm binding the czxid costs a stat of the waiter's own
 * node, sent with its watches, so it is known long before the predecessor goes; with `create2` it
 * comes with the create.
 */
export class CzxidLock {
  readonly counts: GrantCounts = { grants: 0, byWatch: 0, statOnPath: 0 };
  #node: string | undefined;

  constructor(
    private readonly zk: ZooKeeper,
    private readonly dir: string,
    private readonly create: CreateNode = createWithoutStat,
  ) {}

  /** Waits for the lock and resolves to its fencing token. */
  async acquire(): Promise<bigint> {
    const { zk, dir } = this;
    const [created, [children, stat]] = await Promise.all([
      this.create(zk, `${dir}/lock-`),
      raw.children2(zk, dir),
    ]);
    const path = created.path;
    const name = path.slice(dir.length + 1);
    this.#node = path;
    let czxid: Promise<number> | undefined =
      created.czxid === undefined ? undefined : Promise.resolve(created.czxid);
    const ownCzxid = () => {
      if (czxid === undefined) {
        czxid = raw.exists(zk, path).then((s) => s.czxid);
        czxid.catch(() => {}); // awaited where it matters; unawaited, it must not end the process
      }
      return czxid;
    };
    // One watch per node for the whole attempt: a node watched before is not watched again.
    const watches = new Map<string, Promise<"gone">>();
    const gone = (node: string) => {
      let watch = watches.get(node);
      if (!watch) {
        watch = raw.watchGone(zk, `${dir}/${node}`).then(async (deleted) => {
          await deleted;
          return "gone" as const;
        });
        // A watch that fails after the race was decided must not end the process.
        watch.catch(() => {});
        watches.set(node, watch);
      }
      return watch;
    };
    let listing = { queue: children.sort(), pzxid: stat.pzxid };
    for (;;) {
      const index = listing.queue.indexOf(name);
      if (index < 0) throw new Error(`${path} disappeared while waiting`);
      if (index === 0) {
        this.counts.grants++;
        if (index === listing.queue.length - 1) return BigInt(listing.pzxid);
        if (czxid === undefined) this.counts.statOnPath++;
        return BigInt(await ownCzxid());
      }
      const predecessor = listing.queue[index - 1]!;
      const twoAhead = index >= 2 ? listing.queue[index - 2] : undefined;
      // The stat is sent with the watches: it is answered long before the predecessor goes.
      const own = ownCzxid();
      const woken = await Promise.race([
        gone(predecessor).then(() => "predecessor" as const),
        ...(twoAhead ? [gone(twoAhead).then(() => "two ahead" as const)] : []),
      ]);
      if (woken === "predecessor" && index === 1) {
        this.counts.grants++;
        this.counts.byWatch++;
        return BigInt(await own);
      }
      const [next, nextStat] = await raw.children2(zk, dir);
      listing = { queue: next.sort(), pzxid: nextStat.pzxid };
    }
  }

  async release(): Promise<void> {
    const node = this.#node;
    this.#node = undefined;
    if (node) await raw.delete(this.zk, node);
  }
}
