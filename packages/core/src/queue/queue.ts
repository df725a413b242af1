import { randomUUID } from "node:crypto";
import { type AcquireContext, acquireChannel, acquireTraced, type Recipe, waitChannel } from "../channels.js";
import { LockError, soughtIn } from "../errors.js";
import { isMarkedGranted, kindOf, markGranted, nodePrefix, ownerData, sortContenders } from "../lock-node.js";
import { backoffDelay, pause } from "../session/backoff.js";
import { type Created, createMode, rc, ZkCallError, type ZkStat } from "../session/zk-client.js";
import type { ZkSession } from "../session/zk-session.js";
import { Attempt, type Sought } from "./attempt.js";
import { type Blocker, QUEUE_CHANGE, type QueueRule, ruleOf } from "./rules.js";

/** What the queue needs from the manager that owns the session and the directories. */
export interface QueueHost {
  /** The current session; undefined while a manager that owns its clients has none yet. */
  readonly session: ZkSession | undefined;
  /** While disconnected: to what, for how long, and why (for the error of a wait that ran out). */
  describeOutage(): string | undefined;
  /**
   * The session after `previous` (or the first one), once there is one; undefined when none will
   * come by itself (a client given through `init()`), so that acquisitions of an ended session fail.
   */
  nextSession(previous: ZkSession | undefined, signal: AbortSignal): Promise<ZkSession> | undefined;
  /**
   * Sends the creates for `dir` and its ancestors unless the manager knows they exist: `rootDir`'s
   * levels as persistent nodes, the levels below it (down to `dir`, which may lie several deep) as
   * containers.
   */
  ensureDirectory(session: ZkSession, dir: string, rootDir: string): Promise<void> | undefined;
  /** Forgets that `dir`, its ancestors below `rootDir` and `rootDir` exist: one of them was found missing. */
  forgetDirectory(dir: string, rootDir: string): void;
  /**
   * Deletes this session's node at `path` (guaranteed deletion, in the background if need be), or
   * the one `path` resolves to. The promise rejects on failure, and the manager also reports it
   * (naming `dir` when the node itself is unknown), so it may be left unawaited.
   */
  abandon(
    resource: string,
    dir: string,
    session: ZkSession,
    path: string | Promise<string | undefined>,
  ): Promise<void>;
}

/** One place in the queue of a resource's directory. */
export interface QueueRequest {
  /** The resource as the caller named it, for errors and events. */
  resource: string;
  /** The resource's directory, parent of the queue nodes. */
  dir: string;
  rootDir: string;
  /** For the diagnostics channels and the messages of a wait. */
  recipe: Recipe;
  /** The owner's label, which every node of the request carries with its host, pid and creation time (see `ownerData`). */
  label: string | undefined;
  /** What the node asks for, and what keeps it from its turn. */
  rule: QueueRule;
  signal: AbortSignal | undefined;
  /** Milliseconds to wait; `0` gives up at once if the turn has not come; undefined waits on. */
  timeout: number | undefined;
  /**
   * Receives the attempt as it starts, so that later calls of a handle can come to share it and
   * take over when it stops (see `SharedEntry`).
   */
  onAttempt?: (attempt: Attempt) => void;
}

/** A node whose turn came. */
export interface Granted {
  /** The session the node belongs to (the manager may have moved on to another). */
  session: ZkSession;
  path: string;
  /**
   * The node's creation zxid (czxid). Tokens follow the queue: every rule grants in queue order,
   * which within a directory is creation order, and a recreated directory's nodes are younger than
   * any before, so czxids grow with the grants. An exclusive node is granted once every node ahead
   * has gone, and the nodes behind wait for it: its token is above that of every grant before it in
   * this directory and below that of every grant after it, a fencing token. Shared holders and a
   * semaphore's at the same time are ordered by theirs only as they queued, which fences nothing
   * among them. The czxid lets a waiter be granted by its blocker's deletion alone, without
   * listing again.
   *
   * One exception spares the binding's uncontended cycle a stat (its create returns no czxid): an
   * exclusive node granted by a listing that shows it last takes that listing's pzxid. The pzxid is
   * at least the czxid of every node the listing shows, so above every earlier grant's token; and
   * below the czxid of every node created after the listing, while a node created before it would
   * be in it: so below every later grant's token too. (Not for shared or semaphore nodes: a node
   * created after this one and granted beside it may have been deleted before the listing, which
   * moved the pzxid past its czxid.)
   */
  token: bigint;
}

/**
 * Takes a place in the queue of `request.dir` and resolves when its turn comes: one sequential
 * ephemeral node whose name starts with a per-attempt GUID, created in the same round trip as the
 * listing that decides. A waiter watches the node the rule names (its blocker). When it sees the
 * blocker deleted and its last listing less the blocker and the other nodes it saw deleted shows
 * its turn, it holds without listing again (see `QueueRule.blocker`); after any other wake-up it
 * re-lists. A waiter whose blocker's deletion would not be its turn also watches what the blocker
 * waits for (see `lookoutOf`), and decides again when that goes: while the blocker holds, rather
 * than after it, keeping the blocker's watch, from its last listing less the lookout when that
 * showed the lookout first, else from a new listing (see `waitFor`). In a mutex no node is watched
 * by more than two waiters. Whatever stops the attempt (timeout,
 * signal, end of the session, an error), the node is deleted, including one whose create reply was
 * lost.
 *
 * When the session ends under a waiting attempt and the manager opens the next one by itself, the
 * attempt starts again there, within its timeout, as Curator's lock does: the caller asked for the
 * lock, not for a session, and its place in the old queue went with the old session's nodes.
 */
export function enterQueue(host: QueueHost, request: QueueRequest): Promise<Granted> {
  const traced = acquireTraced();
  if (!traced && !waitChannel.hasSubscribers) return takeTurn(host, request, undefined);
  const { resource, dir: path, recipe, rule } = request;
  const context: AcquireContext = { resource, path, recipe, mode: rule.kind.mode, waited: false };
  if (!traced) return takeTurn(host, request, context);
  return acquireChannel.tracePromise(takeTurn, context, undefined, host, request, context);
}

async function takeTurn(
  host: QueueHost,
  request: QueueRequest,
  /** The acquisition's context, when the acquire or the wait channel has a subscriber. */
  traced: AcquireContext | undefined,
): Promise<Granted> {
  const { resource, dir, rule } = request;
  const attempt = new Attempt(request, request.signal, request.timeout, host);
  request.onAttempt?.(attempt);
  let session = host.session;
  try {
    for (;;) {
      if (session === undefined) {
        attempt.runOn(undefined);
        session = await waitForSession(host, undefined, attempt);
      }
      attempt.runOn(session.overSignal);
      const prefix = nodePrefix(randomUUID(), rule.kind);
      // Per node: "since" is when this one was created, also for an attempt begun on an earlier session.
      const data = ownerData(request.label);
      let name: string | undefined;
      let entering: Promise<Entered> | undefined;
      try {
        attempt.throwIfStopped();
        // "Try once" means now: with no connection there is nothing to try.
        if (attempt.triesOnce && !session.connected) throw outageError(host, request);
        entering = createNode(host, session, request, data, prefix, attempt);
        // Trying once, a connection lost on the way is an outage now, not a reconnection to wait for.
        const entered = await attempt.until(
          attempt.triesOnce
            ? session.unlessInterrupted(entering, () => outageError(host, request))
            : entering,
        );
        name = entered.name;
        const node = { session, path: `${dir}/${name}` };
        // The node's czxid, for a grant whose token it is: from the create (create2) or the GUID
        // recovery, else (the binding) from a stat sent as the node starts to wait.
        let czxid = entered.czxid === undefined ? undefined : Promise.resolve(entered.czxid);
        const ownCzxid = () => {
          czxid ??= czxidOf(node.session, node.path, resource, attempt.signal);
          return czxid;
        };
        let held = false;
        const grant = async (token: bigint | Promise<bigint>, nodesBehind: boolean): Promise<Granted> => {
          // Not `{ ...node, token }`: see SharedEntry's #start.
          const granted: Granted = {
            session: node.session,
            path: node.path,
            token: typeof token === "bigint" ? token : await attempt.until(token),
          };
          attempt.throwIfStopped();
          held = true;
          if (rule.marksGrant && nodesBehind) mark(node.session, node.path, data);
          if (traced) Object.assign(traced, { token: granted.token, node: granted.path });
          return granted;
        };
        // While its blocker's deletion may be its turn, the node watches itself: a deletion from
        // outside (an operator, a tool) ends the attempt, where a grant at the blocker's deletion,
        // which lists nothing, would let it in beside the node behind, which saw it go. Read before
        // the blocker, so that its reply, and any event of it, come before the blocker's deletion
        // is seen, within one connection (see `ZkSession.suspensions`). Left set once held: the
        // release's delete fires it. With the binding, its stat gives the czxid.
        let own: Promise<boolean> | undefined;
        let ownSince = 0;
        const watchOwn = () => {
          if (own) return;
          ownSince = node.session.suspensions;
          const gone = () => {
            if (!held) attempt.fail(disappeared(resource));
          };
          const watching: Promise<boolean> = node.session
            .watchNode(node.path, (deleted) => {
              if (own === watching) own = undefined;
              if (deleted) gone();
            })
            .then(
              (found) => {
                if (found === undefined) gone();
                else czxid ??= Promise.resolve(found[0].czxid);
                return found !== undefined;
              },
              () => {
                if (own === watching) own = undefined;
                return false;
              },
            );
          own = watching;
        };
        // Whether the node's own watch is set, has not fired, and the connection has not dropped
        // since it was sent: only then is a deletion of its blocker its turn without a listing.
        // After a drop, the wait lists and sets the watch again.
        const watchingOwn = async () => {
          const watching = own;
          const set = watching !== undefined && (await watching) && own === watching;
          if (node.session.suspensions === ownSince) return set;
          if (own === watching) own = undefined;
          return false;
        };
        let { children, pzxid } = entered;
        for (;;) {
          const contenders = sortContenders(children);
          const index = contenders.indexOf(name);
          if (index < 0) throw disappeared(resource);
          const blocker = rule.blocker(contenders, index);
          if (typeof blocker === "object") throw conflictError(resource, blocker.conflict);
          // A reply can land after the attempt stopped (replies are not abortable), or after its
          // session ended: an attempt given up is never granted, so no caller holds a lock it
          // stopped waiting for, and a grant read from an ended session is no hold. (The grant
          // checks again once its token is in.)
          attempt.throwIfStopped();
          if (blocker === undefined) {
            const last = index === contenders.length - 1;
            // Without a create2 (the binding), an exclusive node its listing shows last takes that
            // listing's pzxid rather than a stat's round trip (see Granted).
            const listingToken = last && czxid === undefined && rule.kind.mode === "exclusive";
            return await grant(listingToken ? pzxid : ownCzxid(), !last);
          }
          attempt.blocked();
          if (traced && !traced.waited) {
            traced.waited = true;
            waitChannel.publish(traced);
          }
          // Sent with the watches, it is answered long before the blocker goes.
          if (turnsAtDeletionOnceFirst(rule, contenders, index, blocker)) watchOwn();
          else ownCzxid();
          const woke = await waitFor(session, request, name, contenders, index, blocker, attempt.signal);
          // Its deletion alone lets this node in, whatever is behind: mark where the rule marks.
          if (woke === TURN && (await watchingOwn())) return await grant(ownCzxid(), true);
          [children, pzxid] =
            typeof woke === "object" ? woke : await attempt.until(relist(session, dir, attempt.signal));
        }
      } catch (error) {
        // Given up by the caller's timeout or signal: the call settles now, and the node's deletion
        // goes on in the background (a server that stopped answering would hold the call until the
        // client gives up on the connection). Sent on the session before anything the manager does
        // next, it is ordered before that.
        const givenUp = attempt.stopped !== undefined;
        // The session ended under an attempt that may go on: on the next session, if one comes.
        const restart = !givenUp && session.over !== undefined;
        const reason = restart ? attempt.reason : attempt.fail(error);
        // A create in flight may have succeeded on the server: the node its reply names, or else the
        // one found by its GUID, is deleted.
        const ended = session;
        const abandoned = name
          ? `${dir}/${name}`
          : entering?.then(
              (entered) => `${dir}/${entered.name}`,
              () => findOwn(ended, dir, prefix).then((own) => own?.path),
            );
        if (abandoned) {
          const leaving = leaveQueue(host, resource, dir, session, abandoned);
          if (!givenUp) await leaving;
        }
        if (!restart) throw reason;
        attempt.runOn(undefined);
        try {
          session = await waitForSession(host, session, attempt, reason);
        } catch (failure) {
          throw attempt.fail(failure);
        }
      }
    }
  } finally {
    attempt.dispose();
  }
}

/** The next session, or the error that ended `previous` when none will come by itself. */
function waitForSession(
  host: QueueHost,
  previous: ZkSession | undefined,
  attempt: Attempt,
  error?: unknown,
): Promise<ZkSession> {
  const next = host.nextSession(previous, attempt.signal);
  if (next === undefined) throw error;
  return next;
}

const outageError = (host: QueueHost, { resource, recipe }: Sought) =>
  new LockError(
    "CONNECTION",
    `Could not try for ${soughtIn(recipe, resource)}: ${host.describeOutage() ?? "no connection to ZooKeeper"}.`,
    { resource },
  );

/**
 * Deletes a node that nobody waits for any more, and resolves once it is gone, or at once when the
 * connection drops (the deletion goes on in the background). A failure is the manager's to report.
 */
export async function leaveQueue(
  host: QueueHost,
  resource: string,
  dir: string,
  session: ZkSession,
  path: string | Promise<string | undefined>,
): Promise<void> {
  await session.whileConnected(host.abandon(resource, dir, session, path)).catch(() => {});
}

// A directory that vanishes again right after being created is being deleted by someone as fast as
// it is made; more tries would not help. The firing claims' buckets are given as many.
export const DIRECTORY_TRIES = 3;

/** The attempt's node, with the listing that first decides its turn. */
interface Entered {
  name: string;
  /** Known when the create answered with it (create2), or the node was found by its GUID. */
  czxid: bigint | undefined;
  children: string[];
  pzxid: bigint;
}

/**
 * Creates the attempt's ephemeral sequential node and lists the contenders in the same round trip:
 * ZooKeeper answers a session's requests in order, so the listing already contains it.
 */
async function createNode(
  host: QueueHost,
  session: ZkSession,
  { resource, dir, rootDir }: QueueRequest,
  data: string,
  prefix: string,
  attempt: Attempt,
): Promise<Entered> {
  const enter = async ({ path, czxid }: Created, listed?: [string[], ZkStat]) => {
    const [children, { pzxid }] = listed ?? (await session.listRetrying(dir, attempt.signal));
    return { name: path.slice(dir.length + 1), czxid, children, pzxid };
  };
  for (let retry = 1; ; retry++) {
    const directory = host.ensureDirectory(session, dir, rootDir);
    const created = session.create(`${dir}/${prefix}`, data, createMode.EPHEMERAL_SEQUENTIAL);
    const listed = session.list(dir);
    const [dirResult, createResult, listResult] = await Promise.allSettled([directory, created, listed]);
    if (createResult.status === "fulfilled") {
      return enter(createResult.value, listResult.status === "fulfilled" ? listResult.value : undefined);
    }
    const error = createResult.reason;
    if (dirResult.status === "rejected" && !isRetryable(session, dirResult.reason)) throw dirResult.reason;
    if (!(error instanceof ZkCallError)) throw error;
    if (error.rc === rc.NONODE) {
      // The directory was reaped (containers vanish when empty), or an operator deleted rootDir that
      // the manager took as known: create the whole path again and retry, a few times.
      host.forgetDirectory(dir, rootDir);
      if (retry >= DIRECTORY_TRIES) {
        throw new LockError(
          "ZOOKEEPER",
          `The lock directory ${dir} was missing again after being created ${retry} times; is something deleting ${rootDir}?`,
          { resource, cause: error },
        );
      }
      await pause(backoffDelay(retry), attempt.signal);
    } else if (session.mayRetry(error)) {
      // The create may have succeeded with its reply lost: look for our node before creating another.
      await session.pauseBeforeRetry(retry, attempt.signal);
      const own = await findOwn(session, dir, prefix, attempt.signal);
      if (own) return enter(own);
    } else {
      throw error;
    }
    attempt.throwIfStopped();
  }
}

/**
 * This session's node with the attempt's GUID prefix, if the server has one. The listing follows a
 * sync: after the connection loss the session may have moved to a follower that has not yet
 * applied the create (the client never saw its reply, so its last zxid let that follower take the
 * session), whose plain listing would miss the node and leave it an orphan ahead of the attempt.
 */
async function findOwn(
  session: ZkSession,
  dir: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<{ path: string; czxid: bigint } | undefined> {
  let children: string[];
  try {
    [children] = await session.listSynced(dir, signal);
  } catch (error) {
    if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
    throw error;
  }
  for (const child of children) {
    if (!child.startsWith(prefix)) continue;
    const path = `${dir}/${child}`;
    const stat = await session.stat(path, signal);
    if (stat.ephemeralOwner === session.sessionId) return { path, czxid: stat.czxid };
  }
  return undefined;
}

/**
 * The creation zxid of the node at `path`, by a stat; a failure is the grant's that awaits it (and
 * none when no grant needs it).
 */
function czxidOf(session: ZkSession, path: string, resource: string, signal: AbortSignal): Promise<bigint> {
  const czxid = session.stat(path, signal).then(
    (stat) => stat.czxid,
    (error: unknown) => {
      throw error instanceof ZkCallError && error.rc === rc.NONODE ? disappeared(resource) : error;
    },
  );
  czxid.catch(() => {});
  return czxid;
}

const disappeared = (resource: string) =>
  new LockError(
    "CONNECTION",
    `The queue node of "${resource}" disappeared while waiting: the session expired, or the node was deleted from outside.`,
    { resource },
  );

const conflictError = (resource: string, why: string) =>
  new LockError("CONFLICT", `Cannot queue for "${resource}": ${why}.`, { resource });

/**
 * Marks a granted node in the background, for the node just behind, which may be watching it as a
 * waiter (a semaphore's; see `semaphoreRule`). The grant does not wait for it: holding is safe
 * without it, and a mark lost with the session or a node already released is not needed.
 *
 * Only a grant whose listing shows nodes behind this one marks it (and a grant at the blocker's
 * deletion, whose listing came before it). A node behind that saw this one waiting read an older
 * state of the queue than the listing that granted it (a node's place only moves forward, as nodes
 * ahead leave), so it existed in that state: it is in the granting listing unless it has left
 * since. A node created after that state reads a later one and finds this one holding. So a node
 * granted with nobody behind it in the granting listing, as at an uncontended first listing, needs
 * no mark: no node ever saw it waiting. Being granted at the first listing is not enough by itself:
 * a node created between this one's create and that listing may have read an older state (another
 * server may have answered it first) and seen this one waiting.
 */
function mark(session: ZkSession, path: string, data: string): void {
  session.setData(path, markGranted(data)).catch(() => {});
}

/**
 * Whether the deletion of `blocker` alone will be the turn of the node at `index`. Nodes only leave
 * from ahead, so once the blocker is gone the nodes ahead are at most those of this listing but the
 * blocker, and the rule is monotone (see `QueueRule.blocker`).
 */
function isTurnAtDeletion(
  rule: QueueRule,
  contenders: readonly string[],
  index: number,
  blocker: Exclude<Blocker, object>,
): boolean {
  if (blocker === QUEUE_CHANGE) return false;
  return (
    rule.blocker(
      contenders.filter((other) => other !== blocker),
      index - 1,
    ) === undefined
  );
}

/**
 * What `blocker` waits for itself, if that is a node (the lookout): once it goes, the wait decides
 * again, off the path of the next handoff, whether the blocker's deletion will be this node's
 * turn, or which node to look out for next (see `waitFor`). For exclusive nodes, the node two
 * ahead. None where the blocker's deletion is never the turn, even
 * with the blocker first (a semaphore's waiters: the one behind the first waiter moves on to watch
 * the queue instead).
 */
function lookoutOf(
  rule: QueueRule,
  contenders: readonly string[],
  index: number,
  blocker: Exclude<Blocker, object>,
): string | undefined {
  if (blocker === QUEUE_CHANGE || !turnsAtDeletionOnceFirst(rule, contenders, index, blocker))
    return undefined;
  const ahead = ruleOf(kindOf(blocker)).blocker(contenders, contenders.indexOf(blocker));
  return typeof ahead === "string" ? ahead : undefined;
}

/**
 * Whether the deletion of `blocker` will be the turn of the node at `index` once the blocker is
 * first, if not already: never for a semaphore's waiters, nor for a wait on the queue.
 */
function turnsAtDeletionOnceFirst(
  rule: QueueRule,
  contenders: readonly string[],
  index: number,
  blocker: Exclude<Blocker, object>,
): boolean {
  if (blocker === QUEUE_CHANGE) return false;
  const at = contenders.indexOf(blocker);
  const fromBlocker = contenders.slice(at);
  const blocksFirst = rule.blocker(fromBlocker, index - at) === blocker;
  return blocksFirst && isTurnAtDeletion(rule, fromBlocker, index - at, blocker);
}

/**
 * Why a wait's watches are removed. Given, because an abort without a reason makes a DOMException,
 * stack trace and all, and every handoff ends two waits.
 */
const WAIT_OVER = Symbol("the wait is over");

/** What a wait resolves to when the blocker's deletion alone was the node's turn. */
const TURN = Symbol("the turn came");

/** A directory's children and pzxid. */
type Listing = [string[], bigint];

/**
 * Resolves when what `blocker` names has changed (at once if it already has): to `TURN` when the
 * blocker was seen deleted and the nodes that may be left ahead then show the node's turn (see
 * `isTurnAtDeletion`), else to a listing to decide from, or undefined when the queue is to be
 * listed again. One watch on the blocker (a node, or the directory's children) and, one at a time,
 * on its lookouts (see `lookoutOf`).
 *
 * When a lookout that the wait's listing showed first is seen deleted, that listing less the
 * lookout still holds every node that may be ahead (nodes only leave from ahead): the wait decides
 * from it, without a request, whether the blocker's deletion will be the turn, or what to look out
 * for next. In a mutex, that is the waiter that entered third. Otherwise, and after a lookout's
 * other wake-ups, the wait lists again while keeping the blocker's watch, and goes on waiting for
 * the same blocker from that listing. A waiter that entered further back saw nodes ahead of its
 * lookout that have most likely left unseen by now: reading them in turn, to find the nearest one
 * left, cost a round trip each and often outlasted the blocker's hold (measured: see the bench
 * README), where one listing tells.
 * The end of the wait removes what is left of its watches where the client can (a hot node keeps
 * no dead watches), and makes a late callback or listing a no-op.
 */
function waitFor(
  session: ZkSession,
  { dir, rule }: QueueRequest,
  name: string,
  contenders: readonly string[],
  index: number,
  blocker: Exclude<Blocker, object>,
  signal: AbortSignal,
): Promise<typeof TURN | Listing | undefined> {
  return new Promise((resolve, reject) => {
    // An abort listener added to an already aborted signal never runs.
    if (signal.aborted) return reject(signal.reason);
    const wait = new AbortController();
    let turnAtDeletion = false;
    const end = (settle: () => void) => {
      if (wait.signal.aborted) return;
      signal.removeEventListener("abort", onAbort);
      wait.abort(WAIT_OVER);
      settle();
    };
    const onAbort = () => end(() => reject(signal.reason));
    const wake = (woke?: typeof TURN | Listing) => end(() => resolve(woke));
    const failed = (error: unknown) =>
      end(() => {
        // Re-list once connected; the loop decides again from fresh children.
        if (session.mayRetry(error)) session.whenConnected(signal).then(() => resolve(undefined), reject);
        else reject(error);
      });
    // getData rather than exists: it sets no watch on a node already gone, and its data shows a
    // mark. A node gone before its watch was set was deleted since the listing all the same.
    const watchNode = (node: string, onChange: (deleted: boolean) => void) =>
      session.watchNode(`${dir}/${node}`, onChange, wait.signal).then((read) => {
        if (read === undefined) onChange(true);
        else if (isMarkedGranted(read[1])) onChange(false);
      }, failed);
    // Listed under the wait's signal, so that a wait that ends stops its listing's retries.
    const relistWaiting = () =>
      relist(session, dir, wait.signal)
        .then((listing) => {
          if (wait.signal.aborted) return;
          const now = sortContenders(listing[0]);
          const at = now.indexOf(name);
          if (at >= 0 && rule.blocker(now, at) === blocker) lookFrom(now);
          else wake(listing);
        })
        .catch(failed);
    // What the blocker's deletion will mean, seen from `view`: a listing, or one less lookouts.
    const lookFrom = (view: readonly string[]) => {
      const at = view.indexOf(name);
      turnAtDeletion = isTurnAtDeletion(rule, view, at, blocker);
      const lookout = turnAtDeletion ? undefined : lookoutOf(rule, view, at, blocker);
      if (lookout === undefined) return;
      watchNode(lookout, (deleted) => {
        if (wait.signal.aborted) return;
        // Nodes shown ahead of the lookout may have left unseen: list rather than read each.
        if (deleted && view[0] === lookout) {
          const left = view.slice(1);
          if (rule.blocker(left, left.indexOf(name)) === blocker) return lookFrom(left);
        }
        relistWaiting();
      });
    };
    signal.addEventListener("abort", onAbort, { once: true });
    if (blocker === QUEUE_CHANGE) {
      // The listing the watch comes with may already differ from the one that decided.
      session
        .watchChildren(dir, () => wake())
        .then((children) => {
          if (children === undefined || sortContenders(children).indexOf(name) !== index) wake();
        }, failed);
    } else {
      // The blocker's read first, so that a blocker already gone ends the wait before the lookout's
      // reply is read; no reply comes before lookFrom has set turnAtDeletion.
      watchNode(blocker, (deleted) => wake(deleted && turnAtDeletion ? TURN : undefined));
      lookFrom(contenders);
    }
  });
}

/** The children and pzxid of `dir`; none when the directory was deleted, our node with it. */
async function relist(session: ZkSession, dir: string, signal: AbortSignal): Promise<Listing> {
  try {
    const [children, stat] = await session.listRetrying(dir, signal);
    return [children, stat.pzxid];
  } catch (error) {
    if (error instanceof ZkCallError && error.rc === rc.NONODE) return [[], 0n];
    throw error;
  }
}

const isRetryable = (session: ZkSession, error: unknown) =>
  session.mayRetry(error) || (error instanceof ZkCallError && error.rc === rc.NONODE);
