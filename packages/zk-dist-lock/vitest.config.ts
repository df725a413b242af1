import { defineProject, mergeConfig } from "vitest/config";
import { workspaceSources } from "../../vitest.shared.js";

export default mergeConfig(
  workspaceSources,
  defineProject({
    test: { name: "zk-dist-lock", include: ["src/**/*.test.ts"] },
  }),
);
