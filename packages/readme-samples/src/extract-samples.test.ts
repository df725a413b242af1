import { describe, expect, it } from "vitest";
import { extractSamples } from "./extract-samples.js";

const readme = (...lines: string[]) => extractSamples("pkg/README.md", lines.join("\n"));

describe("extractSamples", () => {
  it("takes ts and js blocks with their README line, and leaves the other languages", () => {
    const { samples, problems } = readme(
      "# Title",
      "```sh",
      "npm i zk-dist-lock",
      "```",
      "```ts",
      'import { ZkLockManager } from "zk-dist-lock";',
      "```",
      "```js",
      "console.log(1);",
      "```",
    );
    expect(problems).toEqual([]);
    expect(samples.map(({ line, language, format, mode }) => ({ line, language, format, mode }))).toEqual([
      { line: 6, language: "ts", format: "esm", mode: "check" },
      { line: 9, language: "js", format: "esm", mode: "check" },
    ]);
    expect(samples[0]!.code).toBe('import { ZkLockManager } from "zk-dist-lock";');
  });

  it("reads run, check with declarations, skip with a reason, and cjs", () => {
    const { samples, problems } = readme(
      "<!-- sample: run cjs -->",
      "```js",
      'require("zk-dist-lock");',
      "```",
      "<!-- sample: check — continues the quick start",
      "declare const manager: unknown;",
      "-->",
      "```ts",
      "manager;",
      "```",
      "<!-- sample: skip — pseudo-code -->",
      "```ts",
      "…",
      "```",
    );
    expect(problems).toEqual([]);
    expect(samples).toMatchObject([
      { mode: "run", format: "cjs", reason: undefined, prelude: "" },
      {
        mode: "check",
        reason: "continues the quick start",
        prelude: "declare const manager: unknown;",
        line: 9,
      },
      { mode: "skip", reason: "pseudo-code" },
    ]);
  });

  it("does not read directives or fences inside another code block", () => {
    const { samples, problems } = readme("````md", "<!-- sample: run -->", "```ts", "x;", "```", "````");
    expect(problems).toEqual([]);
    expect(samples).toEqual([]);
  });

  it("strips the fence's indentation from a block inside a list", () => {
    const { samples } = readme("- item", "  ```ts", "  const a = 1;", "    const b = 2;", "  ```");
    expect(samples[0]!.code).toBe("const a = 1;\n  const b = 2;");
  });

  it("refuses an unmarked whole program, a skip without a reason, declarations on a run, and a stray directive", () => {
    const { problems } = readme(
      "```ts",
      'const client = new ZooKeeper({ connect: "127.0.0.1:2181" });',
      "```",
      "<!-- sample: skip -->",
      "```ts",
      "x;",
      "```",
      "<!-- sample: run",
      "declare const hidden: number;",
      "-->",
      "```ts",
      "hidden;",
      "```",
      "<!-- sample: run -->",
      "Some prose instead of a block.",
      "<!-- sample: sometimes -->",
      "```sh",
      "ls",
      "```",
    );
    expect(problems).toEqual([
      expect.stringMatching(/^pkg\/README\.md:2: this looks like a whole program/),
      "pkg/README.md:6: a skipped sample must say why",
      "pkg/README.md:12: a run sample must be complete as written: no declarations in its directive",
      "pkg/README.md:14: a sample directive must be followed by a code block",
      'pkg/README.md:16: cannot read the directive "sample: sometimes"',
    ]);
  });

  it("accepts a whole program that says why it is not run", () => {
    const { problems } = readme(
      "<!-- sample: check — starts three JVMs -->",
      "```ts",
      "await startEnsemble({ size: 3 });",
      "```",
    );
    expect(problems).toEqual([]);
  });
});
