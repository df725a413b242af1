import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources through this export condition, so tests
// never run against a stale build. Project configs do not inherit the root config: each merges this.
// The rest are Vite's default conditions; dependencies outside the workspace resolve as usual.
const source = "@zk-dist-lock/source";

export const workspaceSources = defineConfig({
  resolve: { conditions: [source, "module", "browser", "development|production"] },
  ssr: { resolve: { conditions: [source, "module", "node", "development|production"] } },
});
