import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { childExecArgv, packageDir } from "./child.js";

/** A round trip added between the bench's clients and ZooKeeper; see {@link startLatencyProxy}. */
export interface LatencyProxy {
  /** What the clients connect to instead of the server. */
  readonly connectString: string;
  close(): Promise<void>;
}

const child = fileURLToPath(new URL("./latency-proxy-child.ts", import.meta.url));

/**
 * Puts @zk-dist-lock/testing's latency proxy between every client of the bench (zk-dist-lock, the
 * floor, Curator's JVM) and `target`, delaying each way by `rttMs / 2`. It runs in a process of its
 * own: in this one it would take event-loop turns and CPU time that the bench charges to
 * zk-dist-lock and the floor, but not to Curator, which runs in its own JVM.
 */
export async function startLatencyProxy(target: string, rttMs: number): Promise<LatencyProxy> {
  const proxy = spawn(process.execPath, [...childExecArgv(), child, target, String(rttMs / 2)], {
    cwd: packageDir,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  proxy.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => proxy.once("exit", () => resolve()));
  const [line] = await Promise.race([
    createInterface({ input: proxy.stdout })
      [Symbol.asyncIterator]()
      .next()
      .then((r) => [r.value]),
    exited.then(() => [undefined]),
  ]);
  if (typeof line !== "string" || line.trim() === "") {
    proxy.kill("SIGKILL");
    throw new Error(`The latency proxy in front of ${target} did not start:\n${stderr}`);
  }
  return {
    connectString: line.trim(),
    async close() {
      if (proxy.exitCode !== null || proxy.signalCode !== null) return;
      // Closing its stdin stops it; a proxy that does not go in time is killed.
      proxy.stdin.end();
      const timer = setTimeout(() => proxy.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
