import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources through this export condition, so tests
// never run against a stale build.
const conditions = ["@zk-dist-lock/source", "node", "import", "module", "default"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    // One ZooKeeper server for the whole run, shared by every project (or ZK_CONNECT when set).
    globalSetup: ["packages/testing/src/vitest.ts"],
    projects: ["packages/*", "examples/*"],
  },
});
