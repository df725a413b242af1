import { defineProject } from "vitest/config";

export default defineProject({
  test: { name: "zk-dist-lock", include: ["src/**/*.test.ts"] },
});
