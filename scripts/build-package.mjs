// Builds the package in the current directory twice, as ESM and as CommonJS, each with its own
// declarations, so that `import` and `require` consumers both get code and types that match.
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const run = (...args) =>
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json", ...args], { stdio: "inherit" });

rmSync("dist", { recursive: true, force: true });
run("--outDir", "dist/esm");
run("--outDir", "dist/cjs", "--module", "commonjs", "--moduleResolution", "node10");
// Node reads the module format of dist/cjs from the nearest package.json.
writeFileSync("dist/cjs/package.json", '{ "type": "commonjs" }\n');
