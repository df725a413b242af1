import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import type { Sample } from "./extract-samples.js";
import { sampleName } from "./sample-files.js";

/** Where a sample connects, replacing the addresses written in the README. */
export interface SampleTarget {
  /** Connect string of the test's ZooKeeper, for `127.0.0.1:2181`. */
  zkConnect: string;
  /** A free port, for `listen(3000` and `127.0.0.1:3000`. */
  httpPort: number;
}

export interface SampleRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The process was stopped after `timeoutMs`. */
  timedOut: boolean;
  output: string;
}

/**
 * The sample as the process will run it: addresses replaced, and TypeScript compiled the way `tsc`
 * compiles it for a user (decorator metadata included, which tsx would not emit). JavaScript runs
 * as written.
 */
export function runnableSource(sample: Sample, target: SampleTarget): string {
  const code = sample.code
    .replaceAll("127.0.0.1:2181", target.zkConnect)
    .replace(/(?<=listen\(|127\.0\.0\.1:)3000\b/g, String(target.httpPort));
  if (sample.language === "js") return code;
  return ts.transpileModule(code, {
    fileName: sampleName(sample),
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: sample.format === "cjs" ? ts.ModuleKind.CommonJS : ts.ModuleKind.ESNext,
      esModuleInterop: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
    },
  }).outputText;
}

/**
 * Runs a sample in its own Node process from `dir` (inside the workspace, so that imports resolve to
 * the workspace packages' sources through tsx) and reports how it ended. A sample still running
 * after `timeoutMs` gets SIGTERM, then SIGKILL.
 */
export function runSample(
  sample: Sample,
  target: SampleTarget,
  { dir, tsconfig, timeoutMs }: { dir: string; tsconfig: string; timeoutMs: number },
): Promise<SampleRun> {
  const file = join(
    dir,
    sampleName(sample)
      .replace(/\.m?ts$/, ".mjs")
      .replace(/\.cts$/, ".cjs"),
  );
  writeFileSync(file, runnableSource(sample, target));
  const child = spawn(process.execPath, ["--conditions=@zk-dist-lock/source", "--import", "tsx", file], {
    cwd: dir,
    // tsx applies a tsconfig only to the files it includes; the base one includes every source.
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 5000).unref();
  }, timeoutMs);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, timedOut, output });
    });
  });
}
