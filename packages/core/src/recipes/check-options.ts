// The option checkers of the election and the firing claims, for integrations: apart from the
// recipes, so that each recipe keeps one resolver, which its manager call and its checker share.
import { checkOptions, optionNames } from "../options.js";
import { resolveElectionOptions } from "./election.js";
import { resolveFiringClaimOptions } from "./firing-claims.js";

/**
 * Checks election options exactly as `createElection()` will (and refuses an option it does not
 * know), the way `checkLockOptions()` checks a lock's: so that an integration refuses bad options
 * when it is set up, not when it first campaigns. `ownOptions` names the integration's own options
 * beside the election's. Throws `LockInvalidArgumentError` whose message starts with `where`.
 *
 * @example
 * ```ts
 * import { checkElectionOptions } from "@zk-dist-lock/core";
 *
 * checkElectionOptions({ rootDir: "/app/elections", skipLog: false }, "@LeaderOnly() options", ["skipLog"]); // fine
 * checkElectionOptions({ rootDir: "elections" }, "@LeaderOnly() options");
 * // LockInvalidArgumentError: @LeaderOnly() options: rootDir "elections" must be an absolute path …
 * ```
 */
export function checkElectionOptions(
  options: unknown,
  where: string,
  ownOptions: readonly string[] = [],
): void {
  checkOptions(options, where, optionNames.election, ownOptions, (given) =>
    resolveElectionOptions(without(given, ownOptions), {}),
  );
}

/**
 * Checks firing-claim options exactly as `createFiringClaims()` will (`retention` included), the
 * way {@link checkElectionOptions} checks an election's.
 *
 * @example
 * ```ts
 * checkFiringClaimOptions({ retention: 86_400_000 }, "@OncePerFiring() options"); // fine
 * checkFiringClaimOptions({ retension: 5 }, "@OncePerFiring() options");
 * // LockInvalidArgumentError: @OncePerFiring() options: unknown option "retension"; did you mean "retention"?
 * ```
 */
export function checkFiringClaimOptions(
  options: unknown,
  where: string,
  ownOptions: readonly string[] = [],
): void {
  checkOptions(options, where, optionNames.firingClaims, ownOptions, (given) =>
    resolveFiringClaimOptions(without(given, ownOptions), {}),
  );
}

/** The options without the integration's own, which the recipe's resolver would refuse as unknown. */
function without(given: object, ownOptions: readonly string[]): object {
  if (ownOptions.length === 0) return given;
  return Object.fromEntries(Object.entries(given).filter(([key]) => !ownOptions.includes(key)));
}
