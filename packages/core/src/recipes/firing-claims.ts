import { randomUUID } from "node:crypto";
import { LockError, LockInvalidArgumentError } from "../errors.js";
import { ownerData } from "../lock-node.js";
import { type LockOptions, optionNames, optionsObject, resolveLockOptions } from "../options.js";
import { DIRECTORY_TRIES } from "../queue/queue.js";
import { describe } from "../resource-name.js";
import { backoffDelay, pause } from "../session/backoff.js";
import { createMode, rc, ZkCallError } from "../session/zk-client.js";
import type { ZkSession } from "../session/zk-session.js";
import type { ElectionHost } from "./election.js";

/** Where a job's claims live and how long they are kept. */
export interface FiringClaimOptions {
  /** Parent path of the per-job claim directories. Default `"/firings"`. */
  rootDir?: string;
  /**
   * How long a claim is kept after its fire time, in milliseconds, before a later claim of the job
   * deletes it. It must exceed the clock skew between instances plus how late a firing may run,
   * or a late instance would find no claim and run the firing again. Default one hour.
   */
  retention?: number;
  /** Free text stored in each claim for operators, such as a pod name. */
  label?: string;
}

export const DEFAULT_FIRING_ROOT_DIR = "/firings";
export const DEFAULT_RETENTION_MS = 3_600_000;

interface ResolvedFiringClaimOptions {
  rootDir: string;
  retention: number;
  label: string | undefined;
}

/** Checks claim options and applies the defaults: the manager's label, the claims' root. */
export function resolveFiringClaimOptions(
  options: unknown,
  defaults: LockOptions,
): ResolvedFiringClaimOptions {
  const given = optionsObject(options, "createFiringClaims() options", optionNames.firingClaims);
  const { rootDir, label } = resolveLockOptions(given, {
    rootDir: DEFAULT_FIRING_ROOT_DIR,
    label: defaults.label,
  });
  // Only undefined is "not given": a null retention is refused, as every other null option is.
  const { retention = DEFAULT_RETENTION_MS } = given as FiringClaimOptions;
  if (typeof retention !== "number" || !Number.isSafeInteger(retention) || retention <= 0) {
    throw new LockInvalidArgumentError(
      `retention must be a positive whole number of milliseconds; got ${describe(retention)}.`,
    );
  }
  return { rootDir, label, retention };
}

/**
 * Once-per-firing claims of one scheduled job, made by `ZkLockManager.createFiringClaims()`: of
 * every process that claims the same job and fire time, exactly one wins. A claim is a persistent
 * node named after the fire time, created if absent, so it outlives the handler: an instance whose
 * clock runs late and fires after the winner has finished still finds it. Old claims are deleted
 * by later ones once they are `retention` older than the fire time claimed.
 *
 * The claim of `2030-01-01T05:00:12.345Z` is `<job>/2030-01-01/05:00/12.345Z`: the job's directory
 * holds a bucket per day, a day one per minute, a minute its claims, each bucket a container
 * deleted once empty. No listing the recipe makes can outgrow a ZooKeeper reply (`jute.maxbuffer`,
 * 1 MiB), whatever the firing rate, as one flat directory of every claim would (past ~37,000
 * claims, fewer than `@Interval(100)` keeps with the default retention of an hour): a child costs
 * its name plus 4 bytes in a listing, so a minute bucket holds at most 60,000 claims (one a
 * millisecond) of 7 characters, at most 660 KB, and 6.6 KB at 10 firings a second; a day bucket
 * at most 1,440 minutes (13 KB); the job's directory a day bucket per day of `retention` (plus up
 * to a tenth more before the next prune): 14 bytes a day, 5.6 KB for a year, a 1 MiB listing only
 * past 200 years.
 *
 * It is at most once: a winner that dies before running the job loses that firing.
 *
 * @example
 * ```ts
 * const claims = manager.createFiringClaims("nightly-report");
 * cron.schedule("0 3 * * *", async (fireDate) => {
 *   if (await claims.claim(fireDate)) await buildReport();
 * });
 * ```
 */
export class ZkFiringClaims {
  /** When this process last deleted old claims (performance.now()). */
  #prunedAt = Number.NEGATIVE_INFINITY;
  /**
   * The claim ids of this handle's calls that ended with their session before they knew whether
   * they had stored their claim (managers of `init()`), by fire time: a later call for the same
   * time takes the id over and so recognises that claim as its own.
   */
  readonly #undecided = new Map<number, string>();

  /** @internal */
  constructor(
    private readonly host: ElectionHost,
    /** The job's name, as the caller gave it. */
    readonly job: string,
    /** The job's claim directory in ZooKeeper. */
    readonly path: string,
    private readonly options: ResolvedFiringClaimOptions,
  ) {}

  /**
   * Claims the firing scheduled at `fireTime` (a Date or epoch milliseconds; every instance must
   * pass the same value for the same firing, so pass the scheduled time, not the current time).
   * Resolves true for the one caller that won it, false for everyone else.
   *
   * Connection losses are waited out. When the session ends meanwhile, a manager of `connect()`
   * goes on on its next session, and finds its claim there if the lost session had stored it.
   * A manager of `init()` has no next session by itself: the call rejects with `CONNECTION`, and
   * if the claim may have been stored, calling `claim()` again for the same fire time on this
   * object once `init()` has a new client tells (true if the stored claim is that call's).
   */
  async claim(fireTime: Date | number): Promise<boolean> {
    const time = fireTimeOf(fireTime);
    const [day, minute, name] = placeOf(time);
    const bucket = `${this.path}/${day}/${minute}`;
    const node = `${bucket}/${name}`;
    const undecided = this.#undecided.get(time);
    this.#undecided.delete(time);
    const id = undecided ?? randomUUID();
    // The owner's JSON object with the claim's id in front: what tells our node from another's
    // when a create's reply was lost.
    const data = `{"claim":"${id}",${ownerData(this.options.label).slice(1)}`;
    let session = await this.host.liveSession();
    // Whether a create of ours may have been applied without our hearing of it.
    let uncertain = undecided !== undefined;
    let reconnect = false;
    for (let retry = 1; ; retry++) {
      try {
        if (reconnect) await session.pauseBeforeRetry(retry);
        reconnect = false;
        await this.host.ensureDirectory(session, bucket, this.options.rootDir);
        try {
          await session.create(node, data, createMode.PERSISTENT);
        } catch (error) {
          if (!(error instanceof ZkCallError && error.rc === rc.NODEEXISTS)) throw error;
          if (!(uncertain && (await claimOf(session, node)) === id)) return false;
        }
        this.#pruneNowAndThen(session, time);
        return true;
      } catch (error) {
        if (session.over) {
          // The claim is persistent, so it outlived the session if it was stored: look again on
          // the next one, with the same id.
          uncertain ||= session.mayRetry(error);
          session = await this.#sessionAfter(session, error, uncertain ? { time, id } : undefined);
          retry = 0;
        } else if (!(error instanceof ZkCallError)) {
          throw error;
        } else if (error.rc === rc.NONODE && retry < DIRECTORY_TRIES) {
          // A bucket was deleted (pruned, or reaped as an empty container) under us: create it again.
          this.host.forgetDirectory(bucket, this.options.rootDir);
          await pause(backoffDelay(retry));
        } else if (session.mayRetry(error)) {
          // The create may have succeeded with its reply lost: the retry's NODEEXISTS will tell.
          uncertain = true;
          reconnect = true;
        } else {
          throw error;
        }
      }
    }
  }

  /**
   * The session after `ended`, for a claim that `error` interrupted; for a manager of `init()`,
   * which gets none by itself, the error that ends the claim, and the claim's id kept for a retry
   * when it may have been stored (`undecided`).
   */
  async #sessionAfter(
    ended: ZkSession,
    error: unknown,
    undecided: { time: number; id: string } | undefined,
  ): Promise<ZkSession> {
    const next = this.host.nextSession(ended, new AbortController().signal);
    if (next !== undefined) return next;
    if (undecided === undefined) throw error;
    const { time, id } = undecided;
    this.#undecided.set(time, id);
    if (this.#undecided.size > MAX_UNDECIDED) this.#undecided.delete(this.#undecided.keys().next().value!);
    const at = new Date(time).toISOString();
    throw new LockError(
      "CONNECTION",
      `The claim of "${this.job}" for ${at} is undecided: the session ended before ZooKeeper answered, and the claim may have been stored. Nobody else runs that firing if it was: call claim() again for ${at} on this ZkFiringClaims once init() has a new client, which resolves true if the stored claim is this one. ${ended.over?.message ?? ""}`.trimEnd(),
      { resource: this.job, cause: error },
    );
  }

  /**
   * Deletes the claims whose fire time lies more than `retention` before `now` (epoch ms or a
   * Date; the last fire time claimed is a good choice), and the buckets they leave empty; the
   * job's newest claim stays whatever its age. Resolves to how many claims it deleted; claims and
   * buckets it could not delete are reported as the manager's `cleanupFailed` events.
   */
  async prune(now: Date | number): Promise<number> {
    const cutoff = fireTimeOf(now) - this.options.retention;
    return this.#prune(await this.host.liveSession(), cutoff, true);
  }

  /**
   * Prunes with `cutoff`, bucket by bucket: the days that begin before it, their minutes that
   * begin before it, their claims older than it (but the newest, with `keepNewest`). A bucket that
   * ends before `cutoff` and was emptied is deleted; a claim may race into it meanwhile (a firing
   * claimed late), and then the deletion fails with NOTEMPTY and the bucket stays.
   */
  async #prune(session: ZkSession, cutoff: number, keepNewest: boolean): Promise<number> {
    const days = await daysOf(session, this.path);
    const oldDays = days.filter(({ start }) => start < cutoff);
    if (oldDays.length === 0) return 0;
    const newest = keepNewest ? await newestClaim(session, days) : undefined;
    let deleted = 0;
    for (const day of oldDays) {
      const minutes = await minutesOf(session, day);
      const pruned = await Promise.all(
        minutes
          .filter(({ start }) => start < cutoff)
          .map(async (minute) => {
            const claims = await claimsOf(session, minute, day.name);
            const old = claims.filter(({ path, time }) => time < cutoff && path !== newest);
            const results = await Promise.allSettled(
              old.map(({ path }) => this.host.abandon(this.job, minute.path, session, path)),
            );
            const gone = results.filter((result) => result.status === "fulfilled").length;
            const emptied = gone === claims.length && minute.end <= cutoff;
            return { gone, emptied: emptied && (await this.#deleteBucket(session, minute.path)) };
          }),
      );
      for (const { gone } of pruned) deleted += gone;
      const emptied = pruned.filter((minute) => minute.emptied).length === minutes.length;
      if (emptied && day.end <= cutoff) await this.#deleteBucket(session, day.path);
    }
    return deleted;
  }

  /**
   * Deletes an empty bucket; resolves whether it is gone. One that a claim raced into stays (the
   * next prune deletes it); other failures are reported as `cleanupFailed`.
   */
  async #deleteBucket(session: ZkSession, path: string): Promise<boolean> {
    let gone = false;
    const deletion = session.deleteEventually(path).then(
      () => {
        gone = true;
        return undefined;
      },
      (error: unknown) => {
        if (error instanceof ZkCallError && error.rc === rc.NOTEMPTY) return undefined;
        throw error;
      },
    );
    // Through abandon() for its report: the deletion resolves to no node for it to delete.
    await this.host.abandon(this.job, path, session, deletion).catch(() => {});
    return gone;
  }

  /**
   * Prunes after a won claim, at most ten times per retention period and in the background, so
   * that claiming costs one create. A failed listing is reported like a failed deletion. The claim
   * just won lies after the cutoff, and so does the newest: no need to look for it.
   */
  #pruneNowAndThen(session: ZkSession, time: number): void {
    const now = performance.now();
    if (now - this.#prunedAt < this.options.retention / 10) return;
    this.#prunedAt = now;
    const pruned = this.#prune(session, time - this.options.retention, false).then(() => undefined);
    this.host.abandon(this.job, this.path, session, pruned).catch(() => {});
  }
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
// Undecided claims kept for a retry, per handle: each is one rejected claim() of an init() manager.
const MAX_UNDECIDED = 1000;

/**
 * Where the claim of `time` lives: its day bucket (`2030-01-01`, or `+010000-01-01` past the year
 * 9999), its minute bucket (`05:00`) and its name (`12.345Z`), the parts of its ISO 8601 time.
 */
function placeOf(time: number): [day: string, minute: string, name: string] {
  const iso = new Date(time).toISOString();
  const t = iso.indexOf("T");
  return [iso.slice(0, t), iso.slice(t + 1, t + 6), iso.slice(t + 7)];
}

/** The epoch ms of an ISO 8601 time as `toISOString()` writes it; undefined for any other text. */
function isoTime(text: string): number | undefined {
  const time = Date.parse(text);
  return Number.isNaN(time) || new Date(time).toISOString() !== text ? undefined : time;
}

interface Bucket {
  name: string;
  path: string;
  /** The first millisecond the bucket's claims can have, and the first after them. */
  start: number;
  end: number;
}

/**
 * The buckets in `dir`, oldest first: children whose name `startOf` turns into the ISO time they
 * begin at, each `span` ms long. Other children (not the recipe's) are left out; a missing `dir`
 * has none.
 */
async function bucketsOf(
  session: ZkSession,
  dir: string,
  startOf: (name: string) => string,
  span: number,
): Promise<Bucket[]> {
  const buckets: Bucket[] = [];
  for (const name of await childrenOf(session, dir)) {
    const start = isoTime(startOf(name));
    if (start !== undefined) buckets.push({ name, path: `${dir}/${name}`, start, end: start + span });
  }
  return buckets.sort((a, b) => a.start - b.start);
}

/** The day buckets of a job's directory, oldest first. */
const daysOf = (session: ZkSession, dir: string) =>
  bucketsOf(session, dir, (day) => `${day}T00:00:00.000Z`, DAY_MS);

/** The minute buckets of a day bucket, oldest first. */
const minutesOf = (session: ZkSession, day: Bucket) =>
  bucketsOf(session, day.path, (minute) => `${day.name}T${minute}:00.000Z`, MINUTE_MS);

/** The claims in a minute bucket of `day`, oldest first, with their fire times. */
async function claimsOf(
  session: ZkSession,
  minute: Bucket,
  day: string,
): Promise<{ path: string; time: number }[]> {
  const claims: { path: string; time: number }[] = [];
  for (const name of await childrenOf(session, minute.path)) {
    const time = isoTime(`${day}T${minute.name}:${name}`);
    if (time !== undefined) claims.push({ path: `${minute.path}/${name}`, time });
  }
  return claims.sort((a, b) => a.time - b.time);
}

/** The path of the newest claim in `days` (oldest first), looking from the newest bucket back. */
async function newestClaim(session: ZkSession, days: Bucket[]): Promise<string | undefined> {
  for (const day of days.toReversed()) {
    const minutes = await minutesOf(session, day);
    for (const minute of minutes.toReversed()) {
      const claims = await claimsOf(session, minute, day.name);
      if (claims.length > 0) return claims.at(-1)!.path;
    }
  }
  return undefined;
}

async function childrenOf(session: ZkSession, dir: string): Promise<string[]> {
  try {
    const [children] = await session.listRetrying(dir);
    return children;
  } catch (error) {
    if (error instanceof ZkCallError && error.rc === rc.NONODE) return [];
    throw error;
  }
}

/** The claim id stored in a claim node, or undefined when it is gone or not one of ours. */
async function claimOf(session: ZkSession, path: string): Promise<string | undefined> {
  try {
    const [, data] = await session.read(path);
    const claim: unknown = JSON.parse(String(data)).claim;
    return typeof claim === "string" ? claim : undefined;
  } catch (error) {
    if (error instanceof ZkCallError && error.rc === rc.NONODE) return undefined;
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function fireTimeOf(value: unknown): number {
  const time = value instanceof Date ? value.getTime() : value;
  if (typeof time !== "number" || !Number.isSafeInteger(time) || time < 0 || time > 8.64e15) {
    throw new LockInvalidArgumentError(
      `A fire time must be a valid Date or a whole number of milliseconds since 1970; got ${describe(value)}.`,
    );
  }
  return time;
}
