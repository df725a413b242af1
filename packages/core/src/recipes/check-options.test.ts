import { describe, expect, it } from "vitest";
import { LockInvalidArgumentError } from "../errors.js";
import { ZkLockManager } from "../zk-lock-manager.js";
import { checkElectionOptions, checkFiringClaimOptions } from "./check-options.js";

/** What `fn` threw, as an INVALID_ARGUMENT error's message. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LockInvalidArgumentError);
    return (error as Error).message;
  }
  throw new Error("nothing was refused");
}

describe("checkElectionOptions", () => {
  const where = "@LeaderOnly() options";

  it("accepts good election options and none, beside the integration's own", () => {
    expect(() => checkElectionOptions(undefined, where)).not.toThrow();
    expect(() => checkElectionOptions({ rootDir: "/app/elections", label: "pod-7" }, where)).not.toThrow();
    expect(() => checkElectionOptions({ skipLog: 5, rootDir: undefined }, where, ["skipLog"])).not.toThrow();
  });

  it.each([
    ["a relative rootDir", { rootDir: "nope" }],
    ["a null rootDir", { rootDir: null }],
    ["a label that is not a string", { label: 5 }],
  ])("refuses %s as createElection() does, naming where", (_what, options) => {
    const byElection = refusal(() => new ZkLockManager().createElection("e", options as object));
    expect(refusal(() => checkElectionOptions(options, where, ["skipLog"]))).toBe(`${where}: ${byElection}`);
  });

  it("refuses an option that is neither the election's nor the integration's, as createElection() does", () => {
    expect(() => new ZkLockManager().createElection("e", { foo: 1 } as object)).toThrow(
      /unknown option "foo"/,
    );
    expect(refusal(() => checkElectionOptions({ foo: 1 }, where, ["skipLog"]))).toBe(
      `${where}: unknown option "foo"; the options are rootDir, label, skipLog.`,
    );
    expect(refusal(() => checkElectionOptions({ rootdir: "/e" }, where))).toMatch(
      /did you mean "rootDir"\?$/,
    );
    expect(refusal(() => checkElectionOptions({ skipLog: false }, where))).toMatch(
      /unknown option "skipLog"/,
    );
  });

  it("refuses options that are not an object, and ownOptions that are not names", () => {
    expect(refusal(() => checkElectionOptions(null, where))).toMatch(
      /^@LeaderOnly\(\) options must be an object/,
    );
    expect(refusal(() => checkElectionOptions({}, where, "skipLog" as never))).toMatch(
      /ownOptions must be an array/,
    );
  });
});

describe("checkFiringClaimOptions", () => {
  const where = "@OncePerFiring() options";

  it("accepts good claim options and none, beside the integration's own", () => {
    expect(() => checkFiringClaimOptions(undefined, where)).not.toThrow();
    expect(() =>
      checkFiringClaimOptions({ rootDir: "/app/firings", retention: 60_000, label: "pod-7" }, where),
    ).not.toThrow();
    expect(() =>
      checkFiringClaimOptions({ period: 1000, skipLog: false }, where, ["period", "skipLog"]),
    ).not.toThrow();
  });

  it.each([
    ["a negative retention", { retention: -5 }],
    ["a fractional retention", { retention: 1.5 }],
    ["a null retention", { retention: null }],
    ["a relative rootDir", { rootDir: "nope" }],
  ])("refuses %s as createFiringClaims() does, naming where", (_what, options) => {
    const byClaims = refusal(() => new ZkLockManager().createFiringClaims("job", options as object));
    expect(refusal(() => checkFiringClaimOptions(options, where, ["period"]))).toBe(`${where}: ${byClaims}`);
  });

  it("refuses an option that is neither the claims' nor the integration's, naming the one meant", () => {
    expect(refusal(() => checkFiringClaimOptions({ retension: 5 }, where, ["period", "skipLog"]))).toBe(
      `${where}: unknown option "retension"; did you mean "retention"?`,
    );
    expect(refusal(() => checkFiringClaimOptions({ acquireTimeout: 5 }, where))).toMatch(
      /unknown option "acquireTimeout"; the options are rootDir, retention, label\.$/,
    );
  });
});
