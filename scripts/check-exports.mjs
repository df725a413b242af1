// Proves that a CommonJS and an ESM consumer can both load the built package in the current directory,
// and that publint and attw (every resolution mode, node10 included) accept its exports map.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const { name } = JSON.parse(readFileSync("package.json", "utf8"));
const node = (code, type) =>
  execFileSync(process.execPath, [`--input-type=${type}`, "-e", code], { stdio: "inherit" });
node(
  `const m = require(${JSON.stringify(name)}); if (!Object.keys(m).length) throw new Error("empty CJS exports");`,
  "commonjs",
);
node(
  `const m = await import(${JSON.stringify(name)}); if (!Object.keys(m).length) throw new Error("empty ESM exports");`,
  "module",
);
execFileSync("pnpm", ["exec", "publint", "--strict"], { stdio: "inherit" });
execFileSync("pnpm", ["exec", "attw", "--pack", "."], { stdio: "inherit" });
