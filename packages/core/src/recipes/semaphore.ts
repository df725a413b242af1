import type { ResolvedLockOptions } from "../options.js";
import { type QueueRule, semaphoreRule } from "../queue/rules.js";
import { type LockHost, QueueHandle } from "./queue-handle.js";

/**
 * A semaphore: at most `permits` holders of one resource at once, across every process, made by
 * `ZkLockManager.createSemaphore()`; to cap concurrent calls to an external API, say. Its handle is
 * shaped like a lock's (`ZkLock`): `acquire()` waits for a permit, first come first served, and
 * resolves to a token; `release()` gives the permit back; a handle holds one permit, re-entrantly;
 * `signal` aborts when the permit is lost. A crashed holder's permit comes back when its session
 * expires, and an abandoned wait's node is deleted. Only the first waiter watches the directory's
 * children (any holder's leaving lets it in); every later waiter watches one node, the one ahead.
 *
 * Every process must give the same `permits` for a resource: a node's name carries its permits,
 * and an acquisition that finds nodes of other permits ahead of it (or lock nodes: a resource is
 * either a lock or a semaphore) fails with `CONFLICT` rather than overcommit.
 *
 * The token follows the queue, as a lock's does (see `Granted.token`): it is greater than the token
 * of every permit queued before it and smaller than that of every one queued after. That is all it
 * orders: holders at the same time are ordered by it only as they queued, and a permit queued after
 * it may be granted and released before this one's grant is seen. It cannot fence one holder from
 * another.
 *
 * @example
 * ```ts
 * const quota = manager.createSemaphore("geocoder-api", { permits: 5 });
 * await quota.acquire({ timeout: 10_000 });
 * try {
 *   await geocoder.lookup(address);
 * } finally {
 *   await quota.release();
 * }
 * ```
 */
export class ZkSemaphore extends QueueHandle {
  /** @internal */
  readonly recipe = "semaphore" as const;
  /** @internal */
  readonly mode = "semaphore" as const;
  /** @internal */
  protected readonly rule: QueueRule;
  /** @internal */
  protected readonly held = `the permit of "${this.resource}"`;

  /** @internal */
  constructor(
    host: LockHost,
    resource: string,
    path: string,
    options: ResolvedLockOptions,
    /** How many may hold at once. */
    readonly permits: number,
  ) {
    super(host, resource, path, options);
    this.rule = semaphoreRule(permits);
  }
}
