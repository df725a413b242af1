// Reading a queue from outside: who is in it, in grant order, and what their nodes say.
import { kindOf, type OwnerInfo, parseOwner, sortContenders } from "../lock-node.js";
import { rc, ZkCallError, type ZkStat } from "../session/zk-client.js";
import type { ZkSession } from "../session/zk-session.js";
import { ruleOf } from "./rules.js";

/**
 * How a participant takes part, as its node's name says: an exclusive or shared lock (a leader's
 * candidacy is exclusive), or a semaphore.
 *
 * @example
 * ```ts
 * const { holders } = await manager.inspect("catalog");
 * const readers = holders.filter((p) => p.mode === "shared").length;
 * ```
 */
export type ParticipantMode = "exclusive" | "shared" | "semaphore";

/** One contender of a queue (a lock's holder or waiter, a semaphore's, an election's candidate). */
export interface Participant {
  node: string;
  mode: ParticipantMode;
  /** The permits a semaphore's participant asks for; absent for a lock's. */
  permits?: number;
  /** The ZooKeeper session that owns the node (hex). */
  sessionId: string;
  /** When ZooKeeper created the node. */
  createdAt: Date;
  /** What the owner stored: host, pid, label and since when; undefined for nodes of other tools. */
  owner: OwnerInfo | undefined;
}

/** What a node's stat and data say about the contender behind it. */
export function participantOf(node: string, stat: ZkStat, data: Buffer | string): Participant {
  const kind = kindOf(node);
  return {
    node,
    mode: kind.mode,
    ...(kind.mode === "semaphore" && { permits: kind.permits }),
    sessionId: stat.ephemeralOwner,
    createdAt: new Date(stat.ctime),
    owner: parseOwner(data),
  };
}

/** The queue nodes of `dir` in grant order; none when the directory does not exist. */
export async function contendersOf(session: ZkSession, dir: string, signal?: AbortSignal): Promise<string[]> {
  try {
    const [children] = await session.listRetrying(dir, signal);
    return sortContenders(children);
  } catch (error) {
    if (error instanceof ZkCallError && error.rc === rc.NONODE) return [];
    throw error;
  }
}

/**
 * How many of `contenders` (in grant order) have their turn, each by its own node's rule: they come
 * first, since a node that waits blocks every later one of its mode or any other (a shared node
 * behind waits behind it, an exclusive one for it, a semaphore's behind it has a greater index).
 */
export function holdingCount(contenders: readonly string[]): number {
  let count = 0;
  while (
    count < contenders.length &&
    ruleOf(kindOf(contenders[count]!)).blocker(contenders, count) === undefined
  ) {
    count++;
  }
  return count;
}

/** The contender behind `dir/node`, or undefined when it has left meanwhile. */
export async function readParticipant(
  session: ZkSession,
  dir: string,
  node: string,
  signal?: AbortSignal,
): Promise<Participant | undefined> {
  try {
    const [stat, data] = await session.read(`${dir}/${node}`, signal);
    return participantOf(node, stat, data);
  } catch (error) {
    if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
    throw error;
  }
}
