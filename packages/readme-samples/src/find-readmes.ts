import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

// Installed, generated, or tool-owned (.changeset's README is changesets' own).
const IGNORED = new Set(["node_modules", "dist", "coverage", "results", "bench-results"]);

/** Every README.md of the workspace, as paths relative to `root`, in a stable order. */
export function findReadmes(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".") || IGNORED.has(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name === "README.md") found.push(relative(root, path));
    }
  };
  walk(root);
  return found.sort();
}

const withoutCode = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, "");

/** The `#anchors` GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces as dashes. */
function anchors(file: string): Set<string> {
  const headings = withoutCode(readFileSync(file, "utf8")).matchAll(/^#{1,6}\s+(.+)$/gm);
  return new Set(
    [...headings].map(([, heading]) =>
      heading!
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-"),
    ),
  );
}

/**
 * Relative links of a README whose target does not exist: files, folders (which must have a
 * README), and `#anchors` of headings in the README itself or in the Markdown file linked to.
 */
export function brokenLinks(root: string, readme: string): string[] {
  const from = join(root, readme);
  const broken: string[] = [];
  for (const [, target] of withoutCode(readFileSync(from, "utf8")).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target!)) continue;
    const [path = "", anchor] = target!.split("#");
    let file = path ? join(dirname(from), path) : from;
    // A link to a folder shows its README on GitHub; without one the reader lands on a file list.
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "README.md");
    if (!existsSync(file)) broken.push(target!);
    else if (anchor && file.endsWith(".md") && !anchors(file).has(anchor)) broken.push(target!);
  }
  return broken;
}
