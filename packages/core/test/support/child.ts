// A test's helper process: a TypeScript file of this package run by Node with tsx, resolving the
// workspace packages to their sources, with its output collected.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { clientKind } from "./kind.js";

const packageDir = fileURLToPath(new URL("../..", import.meta.url));

export interface Child {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  readonly output: string;
  /** Its exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Runs `file` (a path relative to test/support/) with `args`; stdin stays open for the test. */
export function startChild(file: string, args: string[]): Child {
  const script = fileURLToPath(new URL(file, import.meta.url));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=@zk-dist-lock/source", script, ...args],
    // The child makes its client of the kind this run is on (see worker-client.ts).
    { cwd: packageDir, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ZK_CLIENT: clientKind } },
  );
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  return {
    child,
    get output() {
      return output;
    },
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
  };
}
