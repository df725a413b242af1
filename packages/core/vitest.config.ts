import { defineProject, mergeConfig } from "vitest/config";
import { workspaceSources } from "../../vitest.shared.js";

/**
 * Core's tests, once per ZooKeeper client: this project runs them on @zk-dist-lock/client, and the
 * root config adds `@zk-dist-lock/core:zookeeper`, which extends this file with `zkClient` set to
 * the npm binding (vitest takes no nested projects in a project's own config).
 */
export default mergeConfig(
  workspaceSources,
  defineProject({
    test: {
      name: "@zk-dist-lock/core",
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      provide: { zkClient: "@zk-dist-lock/client" },
    },
  }),
);
