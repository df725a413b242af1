import ts from "typescript";
import type { SampleFile } from "./sample-files.js";

/**
 * The settings the READMEs tell users their samples need (see "Requirements" in the core README):
 * ES2022 output, ES modules resolved like Node, strict, and Nest's decorators. Workspace packages
 * resolve to their TypeScript sources, so the check needs no build.
 */
export const SAMPLE_COMPILER_OPTIONS = {
  target: "ES2022",
  lib: ["ES2022", "ESNext.Disposable"],
  module: "NodeNext",
  moduleResolution: "NodeNext",
  moduleDetection: "force",
  strict: true,
  skipLibCheck: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  allowJs: true,
  checkJs: true,
  noEmit: true,
  types: ["node"],
  customConditions: ["@zk-dist-lock/source"],
} as const;

/**
 * Typechecks the samples as one program and returns each error as `README:line:column message`,
 * pointing into the README. Only the samples' own errors count: the workspace sources they import
 * are checked by their packages' typecheck, under their own settings.
 */
export function typecheckSamples(files: SampleFile[], dir: string): string[] {
  const { options, errors } = ts.convertCompilerOptionsFromJson(SAMPLE_COMPILER_OPTIONS, dir);
  if (errors.length > 0) return errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  const program = ts.createProgram(
    files.map((f) => f.path),
    options,
  );
  const byPath = new Map(files.map((f) => [f.path, f]));
  const diagnostics = [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...files.flatMap((f) => {
      const source = program.getSourceFile(f.path);
      return source
        ? [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
        : [];
    }),
  ];
  return diagnostics.map((d) => {
    const message = `TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    const file = d.file && byPath.get(d.file.fileName);
    if (!file || d.start === undefined) return message;
    const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start);
    const where =
      line < file.offset
        ? `${file.sample.readme}:${file.sample.line} (in the directive's declarations, line ${line + 1})`
        : `${file.sample.readme}:${file.sample.line + line - file.offset}:${character + 1}`;
    return `${where} ${message}`;
  });
}
