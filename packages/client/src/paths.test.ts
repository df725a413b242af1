import { describe, expect, it } from "vitest";
import { isZooKeeperError } from "./errors.js";
import { Chroot, validatePath } from "./paths.js";

describe("validatePath", () => {
  it("accepts what the server accepts", () => {
    for (const path of ["/", "/a", "/a/b-c_d.e", "/ünïcødé", "/...", "/a/.b", "/a/..c"])
      expect(validatePath(path)).toBe(path);
    // A sequential create may end in "/": the server appends the counter.
    expect(validatePath("/queue/", true)).toBe("/queue/");
  });

  it.each([
    ["a", "must start with /"],
    ["/a/", "must not end with /"],
    ["/a//b", "empty segment"],
    ["/a/./b", "relative segment (.)"],
    ["/a/..", "relative segment (..)"],
    ["/./a", "relative segment (.)"],
    ["/a/../b", "relative segment (..)"],
    ["/a\u0000b", "a character ZooKeeper refuses"],
    ["/a\ud83d\ude00", "a character ZooKeeper refuses"],
  ])("refuses %j", (path, problem) => {
    let error: unknown;
    try {
      validatePath(path);
    } catch (caught) {
      error = caught;
    }
    expect(isZooKeeperError(error, "BADARGUMENTS")).toBe(true);
    expect((error as Error).message).toContain(problem);
  });

  it("refuses a non-string", () => {
    expect(() => validatePath(42)).toThrow("A path must be a non-empty string; got 42.");
  });
});

describe("Chroot", () => {
  it("prefixes requests and strips answers", () => {
    const chroot = new Chroot("/app");
    expect(chroot.toServer("/")).toBe("/app");
    expect(chroot.toServer("/x")).toBe("/app/x");
    expect(chroot.toClient("/app")).toBe("/");
    expect(chroot.toClient("/app/x/y")).toBe("/x/y");
    // Not under the chroot (a correct server never sends it): left as it is rather than mangled.
    expect(chroot.toClient("/application")).toBe("/application");
    expect(new Chroot("").toServer("/x")).toBe("/x");
  });
});
