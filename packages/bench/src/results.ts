// Where a report goes. By default into an ignored folder, so that running the bench leaves the
// working tree clean; the tracked results/ files and the README's tables only with --publish.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The default output folder, `packages/bench/bench-results/`, which git ignores. */
export const defaultOut = fileURLToPath(new URL("../bench-results", import.meta.url));
const publishedDir = fileURLToPath(new URL("../results", import.meta.url));
const readme = fileURLToPath(new URL("../README.md", import.meta.url));

/** The reports, each with the README section that shows it when published. */
const sections = {
  latest: ["<!-- latest results: written by pnpm bench --publish -->", "<!-- end of latest results -->"],
  capacity: [
    "<!-- capacity results: written by pnpm bench --capacity --publish -->",
    "<!-- end of capacity results -->",
  ],
} as const;

export type ReportName = keyof typeof sections;

/**
 * Writes `<name>.md` and `<name>.json` to `out` (default {@link defaultOut}); with `publish`, also
 * to the tracked `results/` folder and into the README's section for this report. Returns the paths written.
 */
export function saveReport(
  name: ReportName,
  markdown: string,
  json: unknown,
  { out, publish }: { out: string | undefined; publish: boolean },
): string[] {
  const dirs = [resolve(out ?? defaultOut), ...(publish ? [publishedDir] : [])];
  const written: string[] = [];
  for (const dir of dirs) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.md`), markdown);
    writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
    written.push(join(dir, `${name}.md`), join(dir, `${name}.json`));
  }
  if (publish) {
    replaceSection(readme, sections[name], markdown);
    written.push(readme);
  }
  return written;
}

function replaceSection(file: string, [start, end]: readonly [string, string], markdown: string): void {
  const text = readFileSync(file, "utf8");
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no "${start}" … "${end}" section to update.`);
  writeFileSync(file, `${text.slice(0, from + start.length)}\n\n${markdown}\n${text.slice(to)}`);
}
