// The bench's helper processes (the memory probe, the latency proxy, the fleet) are TypeScript files
// run through tsx.
import { fileURLToPath } from "node:url";

/** The bench package's directory: helper processes run there, so that `tsx` and the workspace resolve. */
export const packageDir = fileURLToPath(new URL("..", import.meta.url));

/**
 * Node flags for a helper process: tsx, and the workspace packages resolved as in this process —
 * built, as `pnpm bench` runs, or from their sources, as the smoke test under vitest does.
 */
export function childExecArgv(): string[] {
  return [...(process.env.VITEST ? ["--conditions=@zk-dist-lock/source"] : []), "--import", "tsx"];
}
