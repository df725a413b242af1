// Reading a queue from outside: who is in it, in grant order, and what their nodes say.
import { type OwnerInfo, parseOwner, sortContenders } from "../lock-node.js";
import { rc, ZkCallError, type ZkStat } from "../session/zk-client.js";
import type { ZkSession } from "../session/zk-session.js";

/** One contender of a queue (a lock's holder or waiter, an election's leader or candidate). */
export interface Participant {
  node: string;
  /** The ZooKeeper session that owns the node (hex). */
  sessionId: string;
  /** When ZooKeeper created the node. */
  createdAt: Date;
  /** What the owner stored: host, pid, label and since when; undefined for nodes of other tools. */
  owner: OwnerInfo | undefined;
}

/** What a node's stat and data say about the contender behind it. */
export function participantOf(node: string, stat: ZkStat, data: Buffer | string): Participant {
  return {
    node,
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
