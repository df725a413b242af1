import { defineProject, mergeConfig } from "vitest/config";
import { workspaceSources } from "../../vitest.shared.js";

export default mergeConfig(
  workspaceSources,
  defineProject({
    test: {
      name: "@zk-dist-lock/chaos",
      // Only the pure checks run in `pnpm test`; the soak itself is `pnpm chaos` (in CI: --seconds 60).
      include: ["src/**/*.test.ts"],
    },
  }),
);
