import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources through this export condition, so tests
// never run against a stale build. Project configs do not inherit the root config: each merges this.
// The rest are the conditions Node itself uses, without Vite's "module": tests resolve dependencies
// as Node does for users (@opentelemetry/api's "module" build, for one, only loads in a bundler).
const source = "@zk-dist-lock/source";

export const workspaceSources = defineConfig({
  resolve: { conditions: [source, "node", "development|production"] },
  ssr: { resolve: { conditions: [source, "node", "development|production"] } },
});
