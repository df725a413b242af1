import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Sample } from "./extract-samples.js";

/** A sample written to disk, with where its code starts so that errors point into the README. */
export interface SampleFile {
  sample: Sample;
  path: string;
  /** Lines before the sample's code in the file: the prelude. */
  offset: number;
}

const EXTENSIONS = { ts: { esm: ".mts", cjs: ".cts" }, js: { esm: ".mjs", cjs: ".cjs" } } as const;

/** The file name a sample is written under: its README and line, readable in a failure. */
export function sampleName(sample: Sample): string {
  const readme = sample.readme.replace(/\/?README\.md$/, "").replaceAll("/", "-") || "root";
  return `${readme}-L${sample.line}${EXTENSIONS[sample.language][sample.format]}`;
}

/**
 * Writes each sample, behind its prelude, into `dir`. The directory must be inside the workspace
 * (a package's folder) so that the samples' imports resolve to the workspace packages.
 */
export function writeSamples(dir: string, samples: Sample[]): SampleFile[] {
  return samples.map((sample) => {
    const path = join(dir, sampleName(sample));
    const prelude = sample.prelude.trim() ? `${sample.prelude.trim()}\n` : "";
    writeFileSync(path, prelude + sample.code);
    return { sample, path, offset: prelude ? prelude.split("\n").length - 1 : 0 };
  });
}
