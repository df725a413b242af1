/** What the README check does with a code block. */
export type SampleMode = "run" | "check" | "skip";

/** A TypeScript or JavaScript code block of a README, with what its directive says about it. */
export interface Sample {
  /** The README's path, as given to {@link extractSamples}. */
  readme: string;
  /** 1-based line of the block's first code line in the README. */
  line: number;
  language: "ts" | "js";
  /** `cjs` when the directive says so or the fence is `cts`/`cjs`; ES module otherwise. */
  format: "esm" | "cjs";
  mode: SampleMode;
  /** Why the block is not run (`check`) or not checked at all (`skip`). */
  reason: string | undefined;
  /** Declarations the block assumes (the directive's further lines), prepended when typechecking. */
  prelude: string;
  code: string;
}

export interface Extracted {
  samples: Sample[];
  /** Misused directives and unmarked whole programs, as `readme:line: message`. */
  problems: string[];
}

const LANGUAGES: Record<string, [Sample["language"], Sample["format"]]> = {
  ts: ["ts", "esm"],
  typescript: ["ts", "esm"],
  mts: ["ts", "esm"],
  cts: ["ts", "cjs"],
  js: ["js", "esm"],
  javascript: ["js", "esm"],
  mjs: ["js", "esm"],
  cjs: ["js", "cjs"],
};

// `sample: <mode> [cjs] [— reason]`: the first line of a directive comment.
const DIRECTIVE = /^sample:\s*(run|check|skip)\b(\s+cjs\b)?\s*(?:(?:—|--|:|-)\s*(.*))?$/;

// Code that connects, starts servers or listens is a whole program: it must run, or say why not.
const WHOLE_PROGRAM = /new ZooKeeper\(|\.connect\(|startZooKeeper\(|startEnsemble\(|NestFactory\.|\.listen\(/;

interface Directive {
  line: number;
  mode: SampleMode;
  cjs: boolean;
  reason: string | undefined;
  prelude: string;
}

/**
 * The TypeScript and JavaScript code blocks of one README. A block may be preceded (on the line
 * right above its fence) by an HTML comment that GitHub and npm do not show:
 *
 * - `<!-- sample: run -->`: a whole program; it is typechecked, run, and must exit 0 on its own.
 * - `<!-- sample: check — why it is not run -->`: typechecked only. Further lines of the comment
 *   are declarations the block assumes (`declare const manager: ZkLockManager;`), prepended to it.
 * - `<!-- sample: skip — why -->`: neither.
 *
 * A block without a directive is typechecked as it stands. `cjs` after the mode makes it a
 * CommonJS module. Other code blocks (sh, sql, json…) are ignored.
 *
 * @example
 * ```ts
 * const { samples, problems } = extractSamples("README.md", readFileSync("README.md", "utf8"));
 * ```
 */
export function extractSamples(readme: string, text: string): Extracted {
  const lines = text.split(/\r?\n/);
  const samples: Sample[] = [];
  const problems: string[] = [];
  const problem = (line: number, message: string) => problems.push(`${readme}:${line}: ${message}`);
  let pending: Directive | undefined;

  for (let index = 0; index < lines.length; index++) {
    const current = lines[index]!;
    const comment = current.match(/^\s*<!--\s*sample:/);
    if (comment) {
      if (pending) problem(pending.line, "a sample directive must be followed by a code block");
      const end = lines.findIndex((l, i) => i >= index && l.includes("-->"));
      if (end === -1) {
        problem(index + 1, "unterminated sample directive");
        break;
      }
      const body = lines
        .slice(index, end + 1)
        .join("\n")
        .replace(/^\s*<!--\s*/, "")
        .replace(/\s*-->\s*$/, "");
      const [first = "", ...rest] = body.split("\n");
      const parsed = first.trim().match(DIRECTIVE);
      if (!parsed) problem(index + 1, `cannot read the directive "${first.trim()}"`);
      else {
        pending = {
          line: index + 1,
          mode: parsed[1] as SampleMode,
          cjs: parsed[2] !== undefined,
          reason: parsed[3]?.trim() || undefined,
          prelude: rest.join("\n"),
        };
      }
      index = end;
      continue;
    }

    const fence = current.match(/^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/);
    if (!fence) {
      if (pending && current.trim() !== "") {
        problem(pending.line, "a sample directive must be followed by a code block");
        pending = undefined;
      }
      continue;
    }
    const [, indent = "", marker = "", info = ""] = fence;
    const closing = new RegExp(`^\\s*${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
    const close = lines.findIndex((l, i) => i > index && closing.test(l));
    const end = close === -1 ? lines.length : close;
    const code = lines
      .slice(index + 1, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()))
      .join("\n");
    const directive = pending;
    pending = undefined;
    const kind = LANGUAGES[info.toLowerCase()];
    const line = index + 2;
    index = end;
    if (!kind) {
      if (directive) problem(directive.line, `a sample directive on a "${info}" block, which is not checked`);
      continue;
    }
    const sample = toSample(readme, line, kind, directive, code);
    if (sample.mode === "skip" && !sample.reason) problem(line, "a skipped sample must say why");
    if (sample.mode === "run" && sample.prelude.trim()) {
      problem(line, "a run sample must be complete as written: no declarations in its directive");
    }
    if (sample.mode === "check" && !sample.reason && WHOLE_PROGRAM.test(code)) {
      problem(
        line,
        "this looks like a whole program: mark it <!-- sample: run --> or say why it is not run (<!-- sample: check — why -->)",
      );
    }
    samples.push(sample);
  }
  if (pending) problem(pending.line, "a sample directive must be followed by a code block");
  return { samples, problems };
}

function toSample(
  readme: string,
  line: number,
  [language, format]: [Sample["language"], Sample["format"]],
  directive: Directive | undefined,
  code: string,
): Sample {
  return {
    readme,
    line,
    language,
    format: directive?.cjs ? "cjs" : format,
    mode: directive?.mode ?? "check",
    reason: directive?.reason,
    prelude: directive?.prelude ?? "",
    code,
  };
}
