import * as core from "@zk-dist-lock/core";
import { expect, it } from "vitest";
import * as unscoped from "./index.js";
import { type LockOptions, ZkLockManager } from "./index.js";

it("re-exports exactly the core, so both import paths give the same classes", () => {
  expect(Object.keys(unscoped).sort()).toEqual(Object.keys(core).sort());
  expect(ZkLockManager).toBe(core.ZkLockManager);
  const options: LockOptions = { rootDir: "/test", acquireTimeout: 2000 };
  expect(() => new ZkLockManager(options).createLock("resource")).toThrow(/init\(zkClient\)/);
});
