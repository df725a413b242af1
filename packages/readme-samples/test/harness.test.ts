// The checks must be able to fail: a sample with a type error, one that fails, and one that never
// exits are each caught, and reported against the README line they come from.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { extractSamples } from "../src/extract-samples.js";
import { brokenLinks } from "../src/find-readmes.js";
import { runSample } from "../src/run-sample.js";
import { writeSamples } from "../src/sample-files.js";
import { typecheckSamples } from "../src/typecheck-samples.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(packageDir, "..", "..");
const dir = mkdtempSync(join(packageDir, ".samples-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample = (...lines: string[]) => extractSamples("demo/README.md", lines.join("\n")).samples[0]!;
const run = (s: ReturnType<typeof sample>, timeoutMs = 15_000) =>
  runSample(
    s,
    { zkConnect: "127.0.0.1:1", httpPort: 1 },
    { dir, tsconfig: join(root, "tsconfig.base.json"), timeoutMs },
  );

it("reports a type error at its README line, past the directive's declarations", () => {
  const broken = sample(
    "Intro",
    "<!-- sample: check",
    'import type { ZkLockManager } from "@zk-dist-lock/core";',
    "declare const manager: ZkLockManager;",
    "-->",
    "```ts",
    'const lock = manager.createLock("a");',
    "const token: string = await lock.acquire();",
    "```",
  );
  expect(typecheckSamples(writeSamples(dir, [broken]), dir)).toEqual([
    "demo/README.md:8:7 TS2322 Type 'bigint' is not assignable to type 'string'.",
  ]);
});

it("resolves the workspace packages and types a correct sample", () => {
  const fine = sample(
    "```ts",
    'import { ZkLockManager } from "zk-dist-lock";',
    "new ZkLockManager();",
    "```",
  );
  expect(typecheckSamples(writeSamples(dir, [fine]), dir)).toEqual([]);
});

it("runs a program with the addresses replaced, and reports its exit code and output", async () => {
  const failing = sample(
    "<!-- sample: run -->",
    "```ts",
    'const connect: string = "127.0.0.1:2181";',
    'console.log("connect " + connect + ", listen(3000)");',
    "process.exitCode = 3;",
    "```",
  );
  expect(await run(failing)).toMatchObject({
    code: 3,
    timedOut: false,
    output: "connect 127.0.0.1:1, listen(1)\n",
  });
});

it("stops a program that does not exit on its own, and says so", async () => {
  const hanging = sample("<!-- sample: run -->", "```js", "setInterval(() => {}, 1000);", "```");
  expect(await run(hanging, 1000)).toMatchObject({ timedOut: true, signal: "SIGTERM" });
});

it("finds a link to a missing file, to a folder without a README, and to a missing anchor", () => {
  const docs = mkdtempSync(join(packageDir, ".samples-"));
  try {
    mkdirSync(join(docs, "empty"));
    writeFileSync(join(docs, "other.md"), "# Other page\n");
    writeFileSync(
      join(docs, "README.md"),
      [
        "# Title",
        "## Running ZooKeeper",
        "[ok](#running-zookeeper) [ok](other.md#other-page) [ok](https://example.com/x)",
        "[bad](missing.md) [bad](empty) [bad](#nowhere) [bad](other.md#nowhere)",
        "```md",
        "[ignored](inside-code.md)",
        "```",
      ].join("\n"),
    );
    expect(brokenLinks(docs, "README.md")).toEqual(["missing.md", "empty", "#nowhere", "other.md#nowhere"]);
  } finally {
    rmSync(docs, { recursive: true, force: true });
  }
});
