import { describe, expect, it } from "vitest";
import { LockInvalidArgumentError } from "./errors.js";
import {
  checkLockOptions,
  checkSemaphoreOptions,
  type LockOptions,
  optionNames,
  optionsObject,
  resolveLockOptions,
  type SemaphoreOptions,
  validateAcquireOptions,
} from "./options.js";
import { checkElectionOptions, checkFiringClaimOptions } from "./recipes/check-options.js";
import { ZkLockManager } from "./zk-lock-manager.js";

describe("resolveLockOptions", () => {
  it("applies defaults: /locks and no timeout", () => {
    expect(resolveLockOptions(undefined)).toEqual({
      rootDir: "/locks",
      acquireTimeout: undefined,
      label: undefined,
    });
  });

  it("lets options override manager defaults", () => {
    const resolved = resolveLockOptions(
      { acquireTimeout: 5 },
      { rootDir: "/app", acquireTimeout: 100, label: "x" },
    );
    expect(resolved).toEqual({ rootDir: "/app", acquireTimeout: 5, label: "x" });
  });

  it("treats an option given as undefined as not given, keeping the default", () => {
    const resolved = resolveLockOptions(
      { rootDir: undefined, acquireTimeout: undefined },
      { rootDir: "/app", acquireTimeout: 9 },
    );
    expect(resolved).toMatchObject({ rootDir: "/app", acquireTimeout: 9 });
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, "100", 2 ** 31])(
    "refuses acquireTimeout %j",
    (acquireTimeout) => {
      expect(() => resolveLockOptions({ acquireTimeout })).toThrow(LockInvalidArgumentError);
    },
  );

  it.each(["rootDir", "acquireTimeout", "label"])("refuses a null %s, also over a default", (name) => {
    expect(() => resolveLockOptions({ [name]: null })).toThrow(LockInvalidArgumentError);
    expect(() => resolveLockOptions({ [name]: null }, { rootDir: "/app" })).toThrow(new RegExp(name));
  });

  it.each([null, "opts", 3])("refuses options %j", (options) => {
    expect(() => resolveLockOptions(options)).toThrow(/must be an object/);
  });

  it("refuses a label that is not a short string", () => {
    expect(() => resolveLockOptions({ label: 5 })).toThrow(/label/);
    expect(() => resolveLockOptions({ label: "x".repeat(257) })).toThrow(/label/);
  });
});

describe("validateAcquireOptions", () => {
  it("accepts a signal and a timeout of 0 (try once)", () => {
    const signal = new AbortController().signal;
    expect(validateAcquireOptions({ signal, timeout: 0 }, "acquire() options")).toEqual({
      signal,
      timeout: 0,
    });
  });

  it("refuses a signal that is not an AbortSignal and a negative timeout", () => {
    expect(() => validateAcquireOptions({ signal: {} }, "acquire() options")).toThrow(/AbortSignal/);
    expect(() => validateAcquireOptions({ timeout: -5 }, "acquire() options")).toThrow(/timeout must be/);
  });

  it("refuses an option it does not take, naming the call and the nearest option", () => {
    expect(() => validateAcquireOptions({ timout: 5 }, "acquire() options")).toThrow(
      'acquire() options: unknown option "timout"; did you mean "timeout"?',
    );
    expect(() => validateAcquireOptions({ timeout: 5 }, "lead() options", optionNames.signalOnly)).toThrow(
      'lead() options: unknown option "timeout"; the options are signal.',
    );
  });

  it("refuses null options, a null signal and a null timeout", () => {
    expect(() => validateAcquireOptions(null, "acquire() options")).toThrow(
      /acquire\(\) options must be an object/,
    );
    expect(() => validateAcquireOptions({ signal: null }, "acquire() options")).toThrow(/AbortSignal/);
    expect(() => validateAcquireOptions({ timeout: null }, "acquire() options")).toThrow(/timeout must be/);
  });
});

/** What `fn` threw, as an INVALID_ARGUMENT error's message. */
const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(LockInvalidArgumentError);
    return (error as Error).message;
  }
  throw new Error("nothing was refused");
};

describe("checkLockOptions", () => {
  const where = "myMiddleware() options";

  it("accepts good lock options and none, and leaves the integration's own options alone", () => {
    expect(() => checkLockOptions(undefined, where)).not.toThrow();
    expect(() =>
      checkLockOptions({ rootDir: "/app/locks", acquireTimeout: 0, label: "job" }, where),
    ).not.toThrow();
    expect(() =>
      checkLockOptions({ key: "k", maxHold: -1, acquireTimeout: undefined }, where, ["key", "maxHold"]),
    ).not.toThrow();
  });

  it("refuses an option that is neither the lock's nor the integration's, as createLock() does", () => {
    const options = { key: "k", acquireTimout: 2000 };
    expect(refusal(() => checkLockOptions(options, where, ["key"]))).toBe(
      `${where}: unknown option "acquireTimout"; did you mean "acquireTimeout"?`,
    );
    expect(refusal(() => checkLockOptions({ key: "k" }, where))).toMatch(/unknown option "key"/);
    expect(refusal(() => checkSemaphoreOptions({ permits: 2, permit: 3 }, where))).toMatch(
      /unknown option "permit"; did you mean "permits"\?$/,
    );
    expect(refusal(() => checkLockOptions({}, where, "key" as never))).toMatch(/ownOptions must be an array/);
  });

  it.each([
    ["a relative rootDir", { rootDir: "locks" }],
    ["a rootDir under /zookeeper", { rootDir: "/zookeeper/x" }],
    ["a negative acquireTimeout", { acquireTimeout: -1 }],
    ["a null acquireTimeout", { acquireTimeout: null }],
    ["a label that is not a string", { label: 5 }],
    ["a mode that is not one", { mode: "read" }],
    ["a null mode", { mode: null }],
  ])("refuses %s as createLock() does, naming where", (_what, options) => {
    const byLock = refusal(() => new ZkLockManager().createLock("r", options as LockOptions));
    expect(refusal(() => checkLockOptions(options, where))).toBe(`${where}: ${byLock}`);
  });

  it.each([null, "opts"])("refuses options %j, naming where", (options) => {
    expect(refusal(() => checkLockOptions(options, where))).toMatch(
      /^myMiddleware\(\) options must be an object/,
    );
  });
});

describe("checkSemaphoreOptions", () => {
  const where = "rateLimit() options";

  it("accepts good semaphore options beside an integration's own", () => {
    expect(() =>
      checkSemaphoreOptions({ permits: 5, rootDir: "/app/locks", key: "k" }, where, ["key"]),
    ).not.toThrow();
  });

  it.each([
    ["no permits", {}],
    ["zero permits", { permits: 0 }],
    ["fractional permits", { permits: 2.5 }],
    ["permits as a string", { permits: "5" }],
    ["a bad rootDir", { permits: 5, rootDir: "locks" }],
  ])("refuses %s as createSemaphore() does, naming where", (_what, options) => {
    let bySemaphore = "";
    try {
      new ZkLockManager().createSemaphore("r", options as SemaphoreOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(LockInvalidArgumentError);
      bySemaphore = (error as Error).message;
    }
    expect(bySemaphore).not.toBe("");
    expect(() => checkSemaphoreOptions(options, where)).toThrow(`${where}: ${bySemaphore}`);
  });
});

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

describe("optionsObject with the names of a call's options", () => {
  const check = (options: object) => () =>
    optionsObject(options, "createLock() options", optionNames.createLock);

  it("accepts the call's options, also given as undefined, and no options", () => {
    expect(check({ rootDir: "/a", acquireTimeout: 1, label: "x", mode: "shared" })).not.toThrow();
    expect(check({ rootDir: undefined, mode: undefined })).not.toThrow();
    expect(optionsObject(undefined, "createLock() options", optionNames.createLock)).toEqual({});
  });

  it.each([
    ["acquireTimout", "acquireTimeout"],
    ["acquiretimeout", "acquireTimeout"],
    ["rootdir", "rootDir"],
    ["rootDri", "rootDir"],
    ["lable", "label"],
    ["mdoe", "mode"],
  ])("refuses %j, suggesting %j", (typo, meant) => {
    expect(check({ [typo]: 1 })).toThrow(
      new LockInvalidArgumentError(
        `createLock() options: unknown option "${typo}"; did you mean "${meant}"?`,
      ),
    );
  });

  it.each(["signal", "permits", "root", "x", "timeoutMs"])(
    "refuses %j, which is nobody's typo, listing the options",
    (key) => {
      expect(check({ [key]: 1 })).toThrow(
        `createLock() options: unknown option "${key}"; the options are rootDir, acquireTimeout, label, mode.`,
      );
    },
  );

  it("refuses a key whose value is undefined: a typo all the same", () => {
    expect(check({ acquireTimout: undefined })).toThrow(/unknown option "acquireTimout"/);
  });
});
