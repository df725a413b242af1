import "reflect-metadata";
import { SetMetadata } from "@nestjs/common";
import { Reflector } from "@nestjs/core";
import { isLockError } from "@zk-dist-lock/core";
import { describe, expect, it } from "vitest";
import { DistributedLock } from "./distributed-lock.decorator.js";

// Stand-ins for @Cron() and @OnEvent(): both store their metadata on the method function with
// SetMetadata, and their explorers read it back through the Reflector from the instance's method.
const CRON = "SCHEDULE_CRON_OPTIONS";
const EVENT = "EVENT_LISTENER_METADATA";

const invalid = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return isLockError(error, "INVALID_ARGUMENT") ? error.message : `other error: ${error}`;
  }
  return "no error";
};

describe("@DistributedLock()", () => {
  it("keeps metadata of decorators applied before and after it, and the method's name", () => {
    class Jobs {
      @SetMetadata(CRON, { cronTime: "* * * * *" })
      @DistributedLock("nightly")
      @SetMetadata(EVENT, [{ event: "order.created" }])
      async nightly() {}
    }
    const reflector = new Reflector();
    const method = new Jobs().nightly;
    expect(reflector.get(CRON, method)).toEqual({ cronTime: "* * * * *" });
    expect(reflector.get(EVENT, method)).toEqual([{ event: "order.created" }]);
    expect(method.name).toBe("nightly");
  });

  it("refuses keys that are neither a non-empty string nor a function, when decorating", () => {
    expect(invalid(() => DistributedLock(""))).toMatch(/non-empty string key or a function/);
    expect(invalid(() => DistributedLock(42 as unknown as string))).toMatch(/got number 42/);
    expect(invalid(() => DistributedLock("k", null as unknown as object))).toMatch(
      /options must be an object/,
    );
  });

  it("refuses bad lock options when decorating, as every lock would at its call", () => {
    expect(invalid(() => DistributedLock("k", { rootDir: "locks" }))).toMatch(
      /^@DistributedLock\(\) options: rootDir "locks" must be an absolute path/,
    );
    expect(invalid(() => DistributedLock("k", { acquireTimeout: -1 }))).toMatch(
      /^@DistributedLock\(\) options: acquireTimeout must be/,
    );
    expect(invalid(() => DistributedLock("k", { rootDir: "/ok", acquireTimeout: 5 }))).toBe("no error");
  });

  it("refuses, when decorating, a static key too long to be a resource", () => {
    expect(invalid(() => DistributedLock("x".repeat(513)))).toMatch(
      /^The resource is 513 bytes long; at most 512 UTF-8 bytes are allowed/,
    );
    expect(invalid(() => DistributedLock("x".repeat(512)))).toBe("no error");
  });

  it("refuses what is not an instance method", () => {
    const decorate = DistributedLock("k");
    const accessor: PropertyDescriptor = { get: () => 1 };
    expect(invalid(() => decorate(class Getter {}.prototype, "value", accessor))).toMatch(
      /decorates methods; Getter.value is not one/,
    );
    class Static {
      static async run() {}
      async instanceRun() {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(Static, "run") as PropertyDescriptor;
    expect(invalid(() => decorate(Static, "run", descriptor))).toMatch(/Static.run is static/);
  });
});

describe("@DistributedLock() with a mode", () => {
  it("takes exclusive and shared, and refuses another mode when decorating", () => {
    expect(invalid(() => DistributedLock("k", { mode: "shared" }))).toBe("no error");
    expect(invalid(() => DistributedLock("k", { mode: "exclusive" }))).toBe("no error");
    expect(invalid(() => DistributedLock("k", { mode: "read" as never }))).toMatch(
      /^@DistributedLock\(\) options: mode must be "exclusive" or "shared"; got "read"/,
    );
  });
});
