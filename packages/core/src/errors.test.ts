import { describe, expect, it } from "vitest";
import {
  isLockError,
  LeadershipLostError,
  LockError,
  LockLostError,
  LockTimeoutError,
  withResource,
} from "./errors.js";

describe("errors", () => {
  it("carry code, name, resource and cause", () => {
    const cause = new Error("root");
    const lost = new LockLostError("r", "the session expired", cause);
    expect(lost).toMatchObject({ name: "LockLostError", code: "LOST", resource: "r", cause });
    expect(new LockTimeoutError("r", 50).message).toBe('Timed out after 50 ms waiting for the lock on "r".');
  });

  it("speak of leadership for a lost term, which is still a lost hold", () => {
    const lost = new LeadershipLostError("scheduler", "the ZooKeeper session expired");
    expect(lost).toBeInstanceOf(LockLostError);
    expect(lost).toMatchObject({ name: "LeadershipLostError", code: "LOST", resource: "scheduler" });
    expect(lost.message).toBe('Leadership of "scheduler" was lost: the ZooKeeper session expired.');
    expect(isLockError(lost, "LOST")).toBe(true);
  });

  it("are recognised by name, also when they come from another copy of the package", () => {
    const foreign = Object.assign(new Error("x"), { name: "LockTimeoutError", code: "TIMEOUT" });
    expect(isLockError(foreign, "TIMEOUT")).toBe(true);
    expect(isLockError(foreign, "LOST")).toBe(false);
    expect(isLockError(new LockError("ABORTED", "x"))).toBe(true);
    expect(isLockError(new Error("x"))).toBe(false);
    expect(isLockError("LockError")).toBe(false);
  });

  it("name the resource of the operation they failed, without touching an error shared by others", () => {
    const cause = new Error("root");
    const shared = new LockError("CONNECTION", "the ZooKeeper session expired", { cause });
    const named = withResource(shared, "r") as LockError;
    expect(named).toBeInstanceOf(LockError);
    expect(named).toMatchObject({ name: "LockError", code: "CONNECTION", resource: "r", cause });
    expect(named.message).toBe(shared.message);
    expect(named.stack).toBe(shared.stack);
    expect(shared.resource).toBeUndefined();
    const timeout = new LockTimeoutError("s", 5);
    expect(withResource(timeout, "r")).toBe(timeout);
    const other = new Error("x");
    expect(withResource(other, "r")).toBe(other);
  });
});
