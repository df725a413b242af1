import { describe, expect, it } from "vitest";
import { isLockError } from "./errors.js";
import { decodeResource, encodeResource, MAX_RESOURCE_BYTES, validateRootDir } from "./resource-name.js";

describe("encodeResource", () => {
  it.each([
    "order:42",
    "../../zookeeper",
    "/",
    ".",
    "..",
    "a/b/../c",
    "%2F",
    "naïve 日本 🚀",
    "x".repeat(MAX_RESOURCE_BYTES),
  ])("maps %j to one safe, reversible znode name", (resource) => {
    const name = encodeResource(resource);
    expect(name).toMatch(/^[A-Za-z0-9_~%-]+$/);
    expect(name).not.toMatch(/^\.{1,2}$/);
    expect(decodeResource(name)).toBe(resource);
  });

  it.each(["50%off", "report.daily", "%2e%2e", "a%2Fb%", "%FF"])(
    "refuses to decode %j, which no resource encodes to",
    (name) => {
      expect(() => decodeResource(name)).toThrow(/is not the znode name of a zk-dist-lock resource/);
    },
  );

  it("keeps distinct resources distinct", () => {
    expect(encodeResource("a/b")).not.toBe(encodeResource("a%2Fb"));
    expect(encodeResource("A")).not.toBe(encodeResource("a"));
  });

  it.each([
    ["", /non-empty string/],
    [42, /non-empty string; got 42/],
    [undefined, /got undefined/],
    ["x".repeat(MAX_RESOURCE_BYTES + 1), /at most 512 UTF-8 bytes/],
    ["\ud800", /lone surrogate/],
  ])("refuses %j with INVALID_ARGUMENT", (resource, message) => {
    let caught: unknown;
    try {
      encodeResource(resource);
    } catch (error) {
      caught = error;
    }
    expect(isLockError(caught, "INVALID_ARGUMENT")).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});

describe("validateRootDir", () => {
  it.each(["/locks", "/a/b-c/d_e", "/zookeeperish"])("accepts %j", (rootDir) => {
    expect(validateRootDir(rootDir)).toBe(rootDir);
  });

  it.each([
    ["locks", /absolute path/],
    ["/", /absolute path/],
    ["/locks/", /end with a slash/],
    ["/a//b", /"\/\/"/],
    ["/a/../b", /"\.\."/],
    ["/a/./b", /"\."/],
    ["/zookeeper", /reserves/],
    ["/zookeeper/quota", /reserves/],
    ["/bad\u0000name", /does not allow/],
    [7, /must be a string/],
  ])("refuses %j", (rootDir, message) => {
    expect(() => validateRootDir(rootDir)).toThrow(message);
  });
});
