import "reflect-metadata";
import {
  checkFiringClaimOptions,
  type FiringClaimOptions,
  LockInvalidArgumentError,
  type ZkFiringClaims,
} from "@zk-dist-lock/core";
import { contextSlot } from "./context-slot.js";
import { bindingOf, checkName, decorateMethod, finishWrapper, render } from "./decorated-method.js";
import { type SkipLog, skipLogger } from "./skip-log.js";
import type { ZkLockBinding } from "./zk-lock-binding.js";

/** Options of {@link OncePerFiring}: where claims live, how long they stay, what a firing is. */
export interface OncePerFiringOptions extends FiringClaimOptions {
  /**
   * The length, in milliseconds, of the window of time that counts as one firing: the fire time is
   * the start of the window the clock is in. Needed on methods with neither `@Cron()` nor
   * `@Interval()`; it replaces what those would give.
   */
  period?: number;
  /** The log level of the line each skipped call writes, or false for none. Default `"log"`. */
  skipLog?: SkipLog;
}

/** The firing the innermost `@OncePerFiring()` method of the current async call chain runs for. */
export interface CurrentFiring {
  /** The job's name. */
  job: string;
  /** The scheduled time of the firing, the same on every instance. */
  fireTime: Date;
}

// The metadata keys of @nestjs/schedule's @Cron() and @Interval() (its tests pin them).
const CRON = "SCHEDULE_CRON_OPTIONS";
const INTERVAL = "SCHEDULE_INTERVAL_OPTIONS";

const firings = contextSlot<CurrentFiring>(
  "currentFiring() was called outside a method decorated with @OncePerFiring() (or what such a method calls).",
);

/**
 * Runs each firing of a scheduled method on exactly one instance of the application, whatever the
 * clock skew between them: before running, the instance claims the firing in ZooKeeper under the
 * job's name (default `"Class.method"`) and the firing's scheduled time; the instance that creates
 * the claim runs it, every other skips it (resolving to undefined, with a log line). The claim
 * outlives the handler, so an instance whose clock runs late still finds it; claims older than
 * `retention` (default one hour) are deleted by later firings.
 *
 * The scheduled time comes from the module's clock (`clock`, default `Date`): for `@Cron()` the
 * time rounded to the nearest second (cron fires on whole seconds; a firing more than half a
 * second late would be taken for the next one), for `@Interval(ms)` the start of the current `ms`
 * window, or with `period` the start of the current `period` window. It is at most once: an
 * instance that dies between its claim and the work loses that firing.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class Billing {
 *   @Cron("0 0 3 * * *")
 *   @OncePerFiring("nightly-invoices")
 *   async invoice() {
 *     const { fireTime } = currentFiring();
 *     await this.invoices.runFor(fireTime);
 *   }
 * }
 * ```
 */
export function OncePerFiring(job?: string, options: OncePerFiringOptions = {}) {
  checkName("@OncePerFiring()", "job name", job);
  checkFiringClaimOptions(options, "@OncePerFiring() options", ["period", "skipLog"]);
  const { period, skipLog, ...claimOptions } = options;
  if (period !== undefined && !(Number.isSafeInteger(period) && period > 0)) {
    throw new LockInvalidArgumentError(
      `@OncePerFiring() option period must be a positive whole number of milliseconds; got ${render(period)}.`,
    );
  }
  const logSkip = skipLogger("@OncePerFiring()", skipLog);
  return (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): void => {
    const name = job ?? `${target.constructor.name}.${String(propertyKey)}`;
    const claims = new WeakMap<ZkLockBinding, ZkFiringClaims>();
    let fireTimeOf: ((now: number) => number) | undefined;
    const { original, where } = decorateMethod(
      "@OncePerFiring()",
      target,
      propertyKey,
      descriptor,
      (binding, instance) => {
        // Read from the method as the instance has it, the outermost wrapper: every decorator's
        // metadata is there, whatever the order.
        fireTimeOf ??= scheduleOf((instance as Record<string | symbol, object>)[propertyKey]!, period, where);
        if (!claims.has(binding))
          claims.set(
            binding,
            binding.manager.createFiringClaims(name, { label: binding.defaults.label, ...claimOptions }),
          );
      },
    );
    const oncePerFiring = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const binding = bindingOf(this, where, "@OncePerFiring()");
      const fireTime = (fireTimeOf as (now: number) => number)(binding.clock.now());
      if (!(await (claims.get(binding) as ZkFiringClaims).claim(fireTime))) {
        logSkip(
          `Skipped ${where}(): its firing of ${new Date(fireTime).toISOString()} was claimed by another instance.`,
        );
        return undefined;
      }
      return firings.run({ job: name, fireTime: new Date(fireTime) }, () => original.apply(this, args));
    };
    descriptor.value = finishWrapper(original, oncePerFiring);
  };
}

/**
 * The job's name and the scheduled time of the firing the innermost `@OncePerFiring()` method of
 * the current async call chain runs for. Throws `LockError` with code `NOT_HELD` elsewhere.
 */
export function currentFiring(): CurrentFiring {
  return firings.get();
}

/** How the method's schedule turns the clock's time into the scheduled time of the firing. */
function scheduleOf(method: object, period: number | undefined, where: string): (now: number) => number {
  const window = (ms: number) => (now: number) => now - (now % ms);
  if (period !== undefined) return window(period);
  if (Reflect.getMetadata(CRON, method) !== undefined) return (now) => Math.round(now / 1000) * 1000;
  const interval: unknown = Reflect.getMetadata(INTERVAL, method)?.timeout;
  if (typeof interval === "number" && interval > 0) return window(interval);
  throw new LockInvalidArgumentError(
    `@OncePerFiring() on ${where} cannot tell one firing from the next: add @Cron() or @Interval() to the method, or give the period option.`,
  );
}
