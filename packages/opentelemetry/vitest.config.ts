import { defineProject } from "vitest/config";

export default defineProject({
  // Workspace packages from their sources (see vitest.shared.ts), but without the "module"
  // condition: @opentelemetry/api's "module" build has extensionless imports that Node cannot load.
  resolve: { conditions: ["@zk-dist-lock/source", "node", "development|production"] },
  ssr: { resolve: { conditions: ["@zk-dist-lock/source", "node", "development|production"] } },
  test: {
    name: "@zk-dist-lock/opentelemetry",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
