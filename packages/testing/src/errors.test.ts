import { describe, expect, it } from "vitest";
import { isZooKeeperTestingError, ZooKeeperNotFoundError, ZooKeeperTestingError } from "./errors.js";

describe("isZooKeeperTestingError", () => {
  it("recognises this package's errors, also from another copy of it (by name)", () => {
    expect(isZooKeeperTestingError(new ZooKeeperTestingError("TIMEOUT", "x"))).toBe(true);
    expect(isZooKeeperTestingError(new ZooKeeperNotFoundError("x", []))).toBe(true);
    const foreign = Object.assign(new Error("x"), {
      name: "ZooKeeperNotFoundError",
      code: "ZOOKEEPER_NOT_FOUND",
    });
    expect(isZooKeeperTestingError(foreign)).toBe(true);
    expect(isZooKeeperTestingError(new Error("x"))).toBe(false);
    expect(isZooKeeperTestingError("ZooKeeperTestingError")).toBe(false);
  });
});
