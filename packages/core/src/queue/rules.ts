// What makes one recipe differ from another. The queue (queue.ts) creates the node a rule names,
// lists the directory, and asks the rule what keeps the node from its turn; it waits for that alone,
// and lists again unless the blocker's deletion alone decides. Rules read node names only (see
// `kindOf`): a listing decides.
import { EXCLUSIVE, kindOf, type NodeKind, SHARED } from "../lock-node.js";

/**
 * What keeps a node from its turn: an earlier node (named), which the waiter waits to see deleted
 * or marked granted (see `QueueRule.marksGrant`); `QUEUE_CHANGE`, any change of the directory's
 * children; or a conflict, nodes ahead that this one can never queue with (it is deleted, and the
 * acquisition fails with `CONFLICT`).
 */
export type Blocker = string | typeof QUEUE_CHANGE | Conflict;

/** Why a node cannot queue behind the nodes ahead of it: a sentence for the error's message. */
export interface Conflict {
  readonly conflict: string;
}

/** Wake up at any change of the queue: the first waiter of a semaphore, which any holder's leaving lets in. */
export const QUEUE_CHANGE: unique symbol = Symbol("any change of the queue");

/** One recipe's part in the queue. */
export interface QueueRule {
  /** What this rule's nodes ask for; their names say it. */
  readonly kind: NodeKind;
  /**
   * Given the queue's nodes in grant order and this node's index, what keeps it from its turn, or
   * undefined when its turn has come. A waiter waits for that alone, so a release wakes only the
   * waiters it may let in.
   *
   * Every rule must be monotone: a node granted with some set of nodes ahead of it is granted with
   * any subset of them. Nodes only leave from ahead and only join behind (sequence order), so the
   * queue may then grant a waiter whose blocker it saw deleted from the last listing it read, minus
   * that blocker and every other node it saw deleted, without listing again (see `enterQueue`).
   */
  blocker(contenders: readonly string[], index: number): Blocker | undefined;
  /**
   * A node granted while nodes queue behind it writes a mark into its data (`markGranted`), which
   * wakes the node behind when that one waits for this node as a waiter (a semaphore's).
   */
  readonly marksGrant?: boolean;
}

/**
 * A mutex (a lock's exclusive mode, and an election): the first node holds; every other waits for
 * the one just ahead. Semaphore nodes ahead are a conflict: a semaphore's holders would never let
 * it in while they overlap, nor it them.
 */
export const exclusive: QueueRule = {
  kind: EXCLUSIVE,
  blocker: (contenders, index) =>
    semaphoreAhead(contenders, index) ?? (index === 0 ? undefined : contenders[index - 1]),
};

/**
 * The two modes of a lock on one queue, first come first served. An exclusive node waits for every
 * earlier node, so it watches the one just ahead; a shared node waits only for the exclusive nodes
 * ahead, so it watches the nearest one (once that one is deleted, the next one ahead, if any, is
 * the nearest). Shared nodes behind a waiting exclusive one wait behind it: a stream of readers
 * does not starve a writer. The shared waiters queued behind one exclusive node all watch it,
 * since its release lets them all in at once.
 */
export const lockRule = (mode: "exclusive" | "shared"): QueueRule =>
  mode === "shared" ? sharedLock : exclusive;

const sharedLock: QueueRule = {
  kind: SHARED,
  blocker(contenders, index) {
    const conflict = semaphoreAhead(contenders, index);
    if (conflict) return conflict;
    for (let i = index - 1; i >= 0; i--) {
      if (kindOf(contenders[i]!).mode === "exclusive") return contenders[i];
    }
    return undefined;
  },
};

function semaphoreAhead(contenders: readonly string[], index: number): Conflict | undefined {
  for (let i = 0; i < index; i++) {
    const kind = kindOf(contenders[i]!);
    if (kind.mode === "semaphore")
      return conflict(`a semaphore of ${kind.permits} permits uses it`, contenders[i]!);
  }
  return undefined;
}

/**
 * A semaphore of `permits`: the first `permits` nodes hold, and no waiter watches the directory
 * but one. ZooKeeper's children watch, the herd of Curator's InterProcessSemaphoreV2 and kazoo's
 * Semaphore, is set by the first waiter alone (index `permits`): any holder's leaving lets it in.
 * Every later waiter watches the node just ahead, for its deletion or its mark (.NET
 * DistributedLock's ZooKeeperDistributedSemaphore). The mark is why: a waiter whose predecessor is
 * granted is now the first waiter, and must move on to watch the queue, or a permit would stay idle
 * while it waits for a holder's release.
 *
 * Why the first waiter watches the children rather than each holder's node: the native client
 * cannot remove a watch, so a first waiter that got its turn would leave watches on the other
 * holders, and the next first waiter would watch them too; a children watch is used up by the very
 * change that lets its waiter in, or by the deletion of the waiter's own node when it gives up (at
 * worst by the next change of the queue, when the listing that set it already showed the turn). It
 * also wakes at arrivals behind it, for two listings each.
 *
 * Every node also checks that the nodes ahead of it are semaphore nodes of the same permits; with
 * that, at most `permits` hold at once: the newest holder found every other holder ahead of it, all
 * agreeing, and fewer than `permits` of them.
 */
export function semaphoreRule(permits: number): QueueRule {
  return {
    kind: { mode: "semaphore", permits },
    marksGrant: true,
    blocker(contenders, index) {
      for (let i = 0; i < index; i++) {
        const kind = kindOf(contenders[i]!);
        if (kind.mode !== "semaphore") return conflict(`it is used as a lock (${kind.mode})`, contenders[i]!);
        if (kind.permits !== permits) {
          return conflict(
            `this semaphore asks for ${permits} permits, another process for ${kind.permits}; every process must give the same permits`,
            contenders[i]!,
          );
        }
      }
      if (index < permits) return undefined;
      return index === permits ? QUEUE_CHANGE : contenders[index - 1];
    },
  };
}

/** The rule of a node of `kind`: what it waits for, whichever process made it. */
export const ruleOf = (kind: NodeKind): QueueRule =>
  kind.mode === "semaphore" ? semaphoreRule(kind.permits) : lockRule(kind.mode);

const conflict = (why: string, node: string): Conflict => ({ conflict: `${why} (node ${node})` });
