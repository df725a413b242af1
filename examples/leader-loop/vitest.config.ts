import { defineProject, mergeConfig } from "vitest/config";
import { workspaceSources } from "../../vitest.shared.js";

export default mergeConfig(
  workspaceSources,
  defineProject({
    test: {
      name: "@zk-dist-lock/example-leader-loop",
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  }),
);
