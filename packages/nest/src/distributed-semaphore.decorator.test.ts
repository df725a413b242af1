import "reflect-metadata";
import { SetMetadata } from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import { isLockError } from "@zk-dist-lock/core";
import { describe, expect, it } from "vitest";
import { currentPermit } from "./current-permit.js";
import { DistributedSemaphore } from "./distributed-semaphore.decorator.js";

const invalid = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return isLockError(error, "INVALID_ARGUMENT") ? error.message : `other error: ${error}`;
  }
  return "no error";
};

describe("@DistributedSemaphore()", () => {
  it("keeps metadata of decorators applied before and after it, and the method's name", () => {
    class Geocoder {
      @SetMetadata("before", 1)
      @DistributedSemaphore("geocoder-api", { permits: 5 })
      @SetMetadata("after", 2)
      async lookup() {}
    }
    const reflector = new Reflector();
    const method = new Geocoder().lookup;
    expect([reflector.get("before", method), reflector.get("after", method), method.name]).toEqual([
      1,
      2,
      "lookup",
    ]);
  });

  it("refuses bad keys, missing or bad permits and bad options when decorating", () => {
    expect(invalid(() => DistributedSemaphore("", { permits: 2 }))).toMatch(
      /^@DistributedSemaphore\(\) needs a non-empty string key or a function/,
    );
    expect(invalid(() => DistributedSemaphore("k", undefined as never))).toMatch(
      /^@DistributedSemaphore\(\) options: permits must be a positive integer/,
    );
    expect(invalid(() => DistributedSemaphore("k", { permits: 0 }))).toMatch(
      /permits must be a positive integer/,
    );
    expect(invalid(() => DistributedSemaphore("k", { permits: 2.5 }))).toMatch(/got 2.5\.$/);
    expect(invalid(() => DistributedSemaphore("k", { permits: 2, rootDir: "locks" }))).toMatch(
      /^@DistributedSemaphore\(\) options: rootDir "locks" must be an absolute path/,
    );
    expect(invalid(() => DistributedSemaphore("k", { permits: 2, acquireTimeout: 10 }))).toBe("no error");
  });

  it("refuses, when decorating, a static key too long to be a resource", () => {
    expect(invalid(() => DistributedSemaphore("x".repeat(513), { permits: 2 }))).toMatch(
      /^The resource is 513 bytes long; at most 512 UTF-8 bytes are allowed/,
    );
    expect(invalid(() => DistributedSemaphore("x".repeat(512), { permits: 2 }))).toBe("no error");
  });

  it("has currentPermit() fail outside a decorated method", () => {
    expect(() => currentPermit()).toThrow(
      "currentPermit() was called outside a method decorated with @DistributedSemaphore() (or what such a method calls).",
    );
  });
});
