import { randomUUID } from "node:crypto";
import { type AcquireContext, acquireChannel, type Recipe, waitChannel } from "../channels.js";
import { LockError, soughtIn } from "../errors.js";
import { isMarkedGranted, markGranted, nodePrefix, sortContenders } from "../lock-node.js";
import { backoffDelay, pause } from "../session/backoff.js";
import { createMode, rc, ZkCallError } from "../session/zk-client.js";
import type { ZkSession } from "../session/zk-session.js";
import { Attempt, type Sought } from "./attempt.js";
import { type Blocker, QUEUE_CHANGE, type QueueRule } from "./rules.js";

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
  /** Sends the creates for `dir` and its ancestors unless the manager knows they exist. */
  ensureDirectory(session: ZkSession, dir: string, rootDir: string): Promise<void> | undefined;
  /** Forgets that `dir` and `rootDir` exist: one of them was found missing. */
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
  /** What the node says about its owner (see `ownerData`). */
  data: string;
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
   * The pzxid of the listing that granted the node: above the token of every hold whose node that
   * listing no longer shows (each was granted by an earlier listing that showed it). An exclusive
   * grant's listing shows no node ahead, so its token is above that of every grant before it in
   * this directory: a fencing token. Shared holders and a semaphore's at the same time are not
   * ordered by theirs and may share one.
   */
  token: bigint;
}

/**
 * Takes a place in the queue of `request.dir` and resolves when its turn comes: one sequential
 * ephemeral node whose name starts with a per-attempt GUID, created in the same round trip as the
 * listing that decides; a waiter watches only the node the rule names, and re-lists after every
 * wake-up. Whatever stops the attempt (timeout, signal, end of the session, an error), the node
 * is deleted, including one whose create reply was lost.
 *
 * When the session ends under a waiting attempt and the manager opens the next one by itself, the
 * attempt starts again there, within its timeout, as Curator's lock does: the caller asked for the
 * lock, not for a session, and its place in the old queue went with the old session's nodes.
 */
export function enterQueue(host: QueueHost, request: QueueRequest): Promise<Granted> {
  if (!acquireChannel.hasSubscribers) return takeTurn(host, request, undefined);
  const { resource, dir: path, recipe, rule } = request;
  const context: AcquireContext = { resource, path, recipe, mode: rule.kind.mode, waited: false };
  return acquireChannel.tracePromise(takeTurn, context, undefined, host, request, context);
}

async function takeTurn(
  host: QueueHost,
  request: QueueRequest,
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
      let name: string | undefined;
      let creating = false;
      try {
        attempt.throwIfStopped();
        // "Try once" means now: with no connection there is nothing to try.
        if (attempt.triesOnce && !session.connected) throw outageError(host, request);
        let children: string[];
        let pzxid: bigint;
        creating = true;
        [name, children, pzxid] = await createNode(host, session, request, prefix, attempt);
        creating = false;
        for (;;) {
          const contenders = sortContenders(children);
          const index = contenders.indexOf(name);
          if (index < 0)
            throw new LockError(
              "CONNECTION",
              `The queue node of "${resource}" disappeared while waiting: the session expired, or the node was deleted from outside.`,
              { resource },
            );
          const blocker = rule.blocker(contenders, index);
          if (typeof blocker === "object") throw conflictError(resource, blocker.conflict);
          // A reply can land after the attempt stopped (replies are not abortable), or after its
          // session ended: an attempt given up is never granted, so no caller holds a lock it
          // stopped waiting for, and a grant read from an ended session is no hold.
          attempt.throwIfStopped();
          if (blocker === undefined) {
            // The zxid of the listing that shows the node's turn: at least its creation zxid, and
            // above the token of every hold whose deletion that listing reflects; for an
            // exclusive node, which has none ahead, that is every hold before it (see Granted).
            const granted = { session, path: `${dir}/${name}`, token: pzxid };
            if (rule.marksGrant && index < contenders.length - 1) mark(session, granted.path, request.data);
            if (traced) Object.assign(traced, { token: granted.token, node: granted.path });
            return granted;
          }
          attempt.blocked();
          if (traced && !traced.waited) {
            traced.waited = true;
            waitChannel.publish(traced);
          }
          await waitFor(session, dir, name, index, blocker, attempt.signal);
          // Re-list: the blocker may have given up rather than been granted; it says nothing of our turn.
          [children, pzxid] = await relist(session, dir, attempt.signal);
        }
      } catch (error) {
        // The session ended under an attempt that may go on: on the next session, if one comes.
        const restart = attempt.stopped === undefined && session.over !== undefined;
        const reason = restart ? attempt.reason : attempt.fail(error);
        // A create in flight may have succeeded on the server: find it by its GUID and delete it.
        const abandoned = name ? `${dir}/${name}` : creating ? findOwn(session, dir, prefix) : undefined;
        if (abandoned) await leaveQueue(host, resource, dir, session, abandoned);
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
// it is made; more tries would not help.
const DIRECTORY_TRIES = 3;

/**
 * Creates the attempt's ephemeral sequential node and lists the contenders in the same round trip:
 * ZooKeeper answers a session's requests in order, so the listing already contains it.
 */
async function createNode(
  host: QueueHost,
  session: ZkSession,
  { resource, dir, rootDir, data }: QueueRequest,
  prefix: string,
  attempt: Attempt,
): Promise<[string, string[], bigint]> {
  for (let retry = 1; ; retry++) {
    const directory = host.ensureDirectory(session, dir, rootDir);
    const created = session.create(`${dir}/${prefix}`, data, createMode.EPHEMERAL_SEQUENTIAL);
    const listed = session.list(dir);
    const [dirResult, createResult, listResult] = await Promise.allSettled([directory, created, listed]);
    if (createResult.status === "fulfilled") {
      const name = createResult.value.slice(dir.length + 1);
      if (listResult.status === "fulfilled") return [name, listResult.value[0], listResult.value[1].pzxid];
      const [children, stat] = await session.listRetrying(dir, attempt.signal);
      return [name, children, stat.pzxid];
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
      const path = await findOwn(session, dir, prefix, attempt.signal);
      if (path) {
        const [children, stat] = await session.listRetrying(dir, attempt.signal);
        return [path.slice(dir.length + 1), children, stat.pzxid];
      }
    } else {
      throw error;
    }
    attempt.throwIfStopped();
  }
}

/** The path of this session's node with the attempt's GUID prefix, if the server has one. */
async function findOwn(
  session: ZkSession,
  dir: string,
  prefix: string,
  signal?: AbortSignal,
): Promise<string | undefined> {
  let children: string[];
  try {
    [children] = await session.listRetrying(dir, signal);
  } catch (error) {
    if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
    throw error;
  }
  for (const child of children) {
    if (!child.startsWith(prefix)) continue;
    const path = `${dir}/${child}`;
    const stat = await session.stat(path, signal);
    if (stat.ephemeralOwner === session.sessionId) return path;
  }
  return undefined;
}

const conflictError = (resource: string, why: string) =>
  new LockError("CONFLICT", `Cannot queue for "${resource}": ${why}.`, { resource });

/**
 * Marks a granted node in the background, for the node just behind, which may be watching it as a
 * waiter (a semaphore's; see `semaphoreRule`). The grant does not wait for it: holding is safe
 * without it, and a mark lost with the session or a node already released is not needed.
 *
 * Only a grant whose listing shows nodes behind this one marks it. A node behind that saw this one
 * waiting read an older state of the queue than the listing that granted it (a node's place only
 * moves forward, as nodes ahead leave), so it existed in that state: it is in the granting listing
 * unless it has left since. A node created after that state reads a later one and finds this one
 * holding. So a node granted with nobody behind it in the granting listing, as at an uncontended
 * first listing, needs no mark: no node ever saw it waiting. Being granted at the first listing is
 * not enough by itself: a node created between this one's create and that listing may have read an
 * older state (another server may have answered it first) and seen this one waiting.
 */
function mark(session: ZkSession, path: string, data: string): void {
  session.setData(path, markGranted(data)).catch(() => {});
}

/**
 * Resolves when what `blocker` names has changed (at once if it already has), for the queue to be
 * listed again: one watch, on that node or on the directory's children.
 */
function waitFor(
  session: ZkSession,
  dir: string,
  name: string,
  index: number,
  blocker: Exclude<Blocker, object>,
  signal: AbortSignal,
): Promise<void> {
  if (blocker === QUEUE_CHANGE) {
    // The listing the watch comes with may already differ from the one that decided.
    return watched(session, signal, (done) =>
      session
        .watchChildren(dir, done)
        .then((children) => children === undefined || sortContenders(children).indexOf(name) !== index),
    );
  }
  // getData rather than exists: it sets no watch on a node already gone, and its data shows a mark.
  // A wait given up removes its watch, where the client can: a hot node keeps no dead watches.
  return watched(session, signal, (done) =>
    session
      .watchNode(`${dir}/${blocker}`, done, signal)
      .then((node) => node === undefined || isMarkedGranted(node[1])),
  );
}

/**
 * Resolves when `watch` calls back, or at once when the call that sets it finds the change already
 * made (it resolves true).
 */
function watched(
  session: ZkSession,
  signal: AbortSignal,
  watch: (done: () => void) => Promise<boolean>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    // An abort listener added to an already aborted signal never runs.
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    };
    signal.addEventListener("abort", onAbort, { once: true });
    watch(done).then(
      (changed) => changed && done(),
      (error) => {
        signal.removeEventListener("abort", onAbort);
        if (session.mayRetry(error)) {
          // Re-list once connected; the loop decides again from fresh children.
          session.whenConnected(signal).then(resolve, reject);
        } else reject(error);
      },
    );
  });
}

/** The children and pzxid of `dir`; none when the directory was deleted, our node with it. */
async function relist(session: ZkSession, dir: string, signal: AbortSignal): Promise<[string[], bigint]> {
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
