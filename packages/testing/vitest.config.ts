import { defineProject, mergeConfig } from "vitest/config";
import { workspaceSources } from "../../vitest.shared.js";

export default mergeConfig(
  workspaceSources,
  defineProject({
    test: {
      name: "@zk-dist-lock/testing",
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      // Each test starts JVMs (2-4 s each on a small machine); ensembles start three.
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  }),
);
