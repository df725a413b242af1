// Every TypeScript and JavaScript block of every README compiles, and the whole programs among them
// run against the test run's ZooKeeper and exit 0 on their own: docs that cannot rot.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "@zk-dist-lock/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { extractSamples } from "../src/extract-samples.js";
import { brokenLinks, findReadmes } from "../src/find-readmes.js";
import { runSample } from "../src/run-sample.js";
import { writeSamples } from "../src/sample-files.js";
import { typecheckSamples } from "../src/typecheck-samples.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(packageDir, "..", "..");
// "Exits on its own within a few seconds"; generous for a shared 2-core machine.
const RUN_TIMEOUT_MS = 20_000;

const readmes = findReadmes(root);
const extracted = readmes.map((readme) => extractSamples(readme, readFileSync(join(root, readme), "utf8")));
const samples = extracted.flatMap((e) => e.samples);
const checked = samples.filter((s) => s.mode !== "skip");
const programs = samples.filter((s) => s.mode === "run");

// Inside the package, so that the samples' imports resolve to the workspace packages.
const dir = mkdtempSync(join(packageDir, ".samples-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("finds the READMEs and their samples", () => {
  expect(readmes).toContain("README.md");
  expect(readmes).toContain("packages/zk-dist-lock/README.md");
  expect(programs.length).toBeGreaterThan(5);
});

it("every sample directive is well formed, and every whole program runs or says why not", () => {
  expect(extracted.flatMap((e) => e.problems)).toEqual([]);
});

it("every TypeScript and JavaScript sample typechecks", () => {
  expect(typecheckSamples(writeSamples(dir, checked), dir)).toEqual([]);
});

it("every JavaScript sample is valid syntax for this Node.js as written", () => {
  const files = writeSamples(
    dir,
    checked.filter((s) => s.language === "js"),
  );
  expect(files.length).toBeGreaterThan(0);
  for (const { path } of files) execFileSync(process.execPath, ["--check", path], { stdio: "pipe" });
});

it("every relative link of every README resolves", () => {
  expect(readmes.flatMap((readme) => brokenLinks(root, readme).map((link) => `${readme}: ${link}`))).toEqual(
    [],
  );
});

describe("whole programs exit 0 on their own", () => {
  it.for(programs.map((sample) => [`${sample.readme}:${sample.line}`, sample] as const))(
    "%s",
    async ([, sample]) => {
      const run = await runSample(
        sample,
        { zkConnect: inject("zkConnect"), httpPort: (await freePorts(1))[0]! },
        { dir, tsconfig: join(root, "tsconfig.base.json"), timeoutMs: RUN_TIMEOUT_MS },
      );
      expect(run, run.output).toMatchObject({ code: 0, signal: null, timedOut: false });
    },
  );
});
