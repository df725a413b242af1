import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { childExecArgv, packageDir } from "../child.js";
import type { ClientKind } from "./types.js";

/** What one held lock costs, in bytes, measured after full garbage collections. */
export interface MemorySample {
  count: number;
  heapPerLock: number;
  rssPerLock: number;
  /** Heap still above the baseline per lock once all were released: the manager's directory cache. */
  heapAfterReleasePerLock: number;
}

const child = fileURLToPath(new URL("./memory-child.ts", import.meta.url));

/**
 * Holds `count` locks at once on a client of `kind` in a fresh Node process started with
 * `--expose-gc`, so that the figures are not blurred by this process's own heap.
 */
export async function measureMemory(
  connect: string,
  rootDir: string,
  count: number,
  kind: ClientKind,
): Promise<MemorySample> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--expose-gc", ...childExecArgv(), child, connect, rootDir, String(count), kind],
    { cwd: packageDir, maxBuffer: 1 << 20 },
  );
  const result = JSON.parse(stdout.trim().split("\n").at(-1)!);
  if (result.stillHeld !== count) throw new Error(`only ${result.stillHeld} of ${count} locks were held`);
  return result;
}
