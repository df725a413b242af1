import { checkElectionOptions, type ElectionOptions, type Term } from "@zk-dist-lock/core";
import { contextSlot } from "./context-slot.js";
import { bindingOf, checkName, decorateMethod, finishWrapper } from "./decorated-method.js";
import { type SkipLog, skipLogger } from "./skip-log.js";

/** Options of {@link LeaderOnly}: where the election lives, and how skipped calls are logged. */
export interface LeaderOnlyOptions extends ElectionOptions {
  /** The log level of the line each skipped call writes, or false for none. Default `"log"`. */
  skipLog?: SkipLog;
}

/** The term of the innermost `@LeaderOnly()` method running in the current async call chain. */
export interface CurrentTerm extends Term {
  /** The election's name. */
  election: string;
}

const terms = contextSlot<CurrentTerm>(
  "currentTerm() was called outside a method decorated with @LeaderOnly() (or what such a method calls).",
);

/**
 * Runs the method only on the instance of the application that leads the election `election`
 * (default: `"Class.method"`); on every other instance the call is skipped, resolves to undefined
 * and writes a log line. Each instance campaigns from application bootstrap and resigns at
 * shutdown; when the leader goes, another instance leads within about the session timeout.
 *
 * A term ends when leadership is lost, when the connection to ZooKeeper is suspended (the session
 * may expire meanwhile) and at shutdown: `currentTerm().signal` aborts then, and the term ends only
 * once the running calls have settled. Fence writes with `currentTerm().token`, which grows with
 * every term. Works with `@Cron()`, `@Interval()` and other decorators in either order.
 *
 * Leader-only does not make each firing run once: firings during a handover run nowhere, and after
 * a quick handover between instances whose clocks differ, the same scheduled time may run on both.
 * For "each firing exactly once" use `@OncePerFiring()`.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class Reports {
 *   @Cron("0 * * * * *")
 *   @LeaderOnly("reports")
 *   async publish() {
 *     const { token, signal } = currentTerm();
 *     await this.store.publish({ fence: token, signal });
 *   }
 * }
 * ```
 */
export function LeaderOnly(election?: string, options: LeaderOnlyOptions = {}) {
  checkName("@LeaderOnly()", "election name", election);
  checkElectionOptions(options, "@LeaderOnly() options", ["skipLog"]);
  const { skipLog, ...electionOptions } = options;
  const logSkip = skipLogger("@LeaderOnly()", skipLog);
  return (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): void => {
    const name = election ?? `${target.constructor.name}.${String(propertyKey)}`;
    const { original, where } = decorateMethod("@LeaderOnly()", target, propertyKey, descriptor, (binding) =>
      binding.elections.seat(name, electionOptions),
    );
    const leaderOnly = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      const seat = bindingOf(this, where, "@LeaderOnly()").elections.seat(name, electionOptions);
      const term = seat.term;
      if (term === undefined) {
        logSkip(`Skipped ${where}(): this instance does not lead "${name}" (${seat.election.state}).`);
        return undefined;
      }
      // Tracked as it starts, so that a term ending meanwhile waits for it to settle.
      const call = (async () => terms.run({ ...term, election: name }, () => original.apply(this, args)))();
      return seat.track(call);
    };
    descriptor.value = finishWrapper(original, leaderOnly);
  };
}

/**
 * The election, fencing token and signal of the term in which the innermost `@LeaderOnly()` method
 * of the current async call chain runs. Throws `LockError` with code `NOT_HELD` elsewhere.
 */
export function currentTerm(): CurrentTerm {
  return terms.get();
}
