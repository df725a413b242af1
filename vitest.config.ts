import { mergeConfig } from "vitest/config";
import { workspaceSources } from "./vitest.shared.js";

export default mergeConfig(workspaceSources, {
  test: {
    // One ZooKeeper server for the whole run, shared by every project (or ZK_CONNECT when set).
    globalSetup: ["packages/testing/src/vitest.ts"],
    projects: [
      "packages/*",
      "examples/*",
      // Core's whole suite again, on the npm zookeeper binding (packages/core/vitest.config.ts).
      {
        extends: "packages/core/vitest.config.ts",
        root: "packages/core",
        test: { name: "@zk-dist-lock/core:zookeeper", provide: { zkClient: "zookeeper" } },
      },
    ],
  },
});
