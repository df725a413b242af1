import { describe, expect, it } from "vitest";
import { LockInvalidArgumentError } from "./errors.js";
import {
  checkLockOptions,
  checkSemaphoreOptions,
  type LockOptions,
  resolveLockOptions,
  type SemaphoreOptions,
  validateAcquireOptions,
} from "./options.js";
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
    expect(validateAcquireOptions({ signal, timeout: 0 })).toEqual({ signal, timeout: 0 });
  });

  it("refuses a signal that is not an AbortSignal and a negative timeout", () => {
    expect(() => validateAcquireOptions({ signal: {} })).toThrow(/AbortSignal/);
    expect(() => validateAcquireOptions({ timeout: -5 })).toThrow(/timeout must be/);
  });

  it("refuses null options, a null signal and a null timeout", () => {
    expect(() => validateAcquireOptions(null)).toThrow(/acquire\(\) options must be an object/);
    expect(() => validateAcquireOptions({ signal: null })).toThrow(/AbortSignal/);
    expect(() => validateAcquireOptions({ timeout: null })).toThrow(/timeout must be/);
  });
});

describe("checkLockOptions", () => {
  const where = "myMiddleware() options";
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

  it("accepts good lock options and none, and leaves an integration's own options alone", () => {
    expect(() => checkLockOptions(undefined, where)).not.toThrow();
    expect(() =>
      checkLockOptions({ rootDir: "/app/locks", acquireTimeout: 0, label: "job" }, where),
    ).not.toThrow();
    expect(() => checkLockOptions({ key: "k", maxHold: -1, acquireTimeout: undefined }, where)).not.toThrow();
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
    expect(() => checkSemaphoreOptions({ permits: 5, rootDir: "/app/locks", key: "k" }, where)).not.toThrow();
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
