import { randomUUID } from "node:crypto";
import { LockInvalidArgumentError } from "../errors.js";
import { ownerData } from "../lock-node.js";
import { type LockOptions, optionNames, optionsObject, resolveLockOptions } from "../options.js";
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
   */
  async claim(fireTime: Date | number): Promise<boolean> {
    const time = fireTimeOf(fireTime);
    const node = `${this.path}/${new Date(time).toISOString()}`;
    const id = randomUUID();
    // The owner's JSON object with the claim's id in front: what tells our node from another's
    // when a create's reply was lost.
    const data = `{"claim":"${id}",${ownerData(this.options.label).slice(1)}`;
    const session = await this.host.liveSession();
    let uncertain = false;
    for (let retry = 1; ; retry++) {
      try {
        await this.host.ensureDirectory(session, this.path, this.options.rootDir);
        await session.create(node, data, createMode.PERSISTENT);
        break;
      } catch (error) {
        if (!(error instanceof ZkCallError)) throw error;
        if (error.rc === rc.NODEEXISTS) {
          if (!(uncertain && (await claimOf(session, node)) === id)) return false;
          break;
        }
        if (error.rc === rc.NONODE && retry < DIRECTORY_TRIES) {
          // The directory was reaped (containers vanish when empty): create it again, a few times.
          this.host.forgetDirectory(this.path, this.options.rootDir);
          await pause(backoffDelay(retry));
        } else if (session.mayRetry(error)) {
          // The create may have succeeded with its reply lost: the retry's NODEEXISTS will tell.
          uncertain = true;
          await session.pauseBeforeRetry(retry);
        } else {
          throw error;
        }
      }
    }
    this.#pruneNowAndThen(session, time);
    return true;
  }

  /**
   * Deletes the claims whose fire time lies more than `retention` before `now` (epoch ms or a
   * Date; the last fire time claimed is a good choice). Resolves to how many it deleted; claims it
   * could not delete are reported as the manager's `cleanupFailed` events.
   */
  async prune(now: Date | number): Promise<number> {
    const cutoff = fireTimeOf(now) - this.options.retention;
    const session = await this.host.liveSession();
    let children: string[];
    try {
      [children] = await session.listRetrying(this.path);
    } catch (error) {
      if (error instanceof ZkCallError && error.rc === rc.NONODE) return 0;
      throw error;
    }
    const old = children.filter((name) => Date.parse(name) < cutoff);
    const deleted = await Promise.allSettled(
      old.map((name) => this.host.abandon(this.job, this.path, session, `${this.path}/${name}`)),
    );
    return deleted.filter((result) => result.status === "fulfilled").length;
  }

  /**
   * Prunes after a won claim, at most ten times per retention period and in the background, so
   * that claiming costs one create. A failed listing is reported like a failed deletion.
   */
  #pruneNowAndThen(session: ZkSession, time: number): void {
    const now = performance.now();
    if (now - this.#prunedAt < this.options.retention / 10) return;
    this.#prunedAt = now;
    const pruned = this.prune(time).then(() => undefined);
    this.host.abandon(this.job, this.path, session, pruned).catch(() => {});
  }
}

// A directory that vanishes again right after being created is being deleted as fast as it is made.
const DIRECTORY_TRIES = 3;

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
