// What the README says of Express 4: a rejected async handler is an unhandled rejection, which
// ends the process (Node's default); its lock comes free only when ZooKeeper expires its session.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { waitFor } from "@zk-dist-lock/testing";
import { describe, expect, inject, it } from "vitest";
import { sharedManager, uniqueRoot } from "./support.js";

const connect = inject("zkConnect");
const script = fileURLToPath(new URL("./rejecting-express4-app.ts", import.meta.url));
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const zk = sharedManager();

describe("an unguarded async handler on Express 4", () => {
  it("crashes the process when it rejects, and the lock waits for the session to expire", async () => {
    const rootDir = uniqueRoot();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@zk-dist-lock/source", script, connect, rootDir],
      { cwd: packageDir, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      await waitFor(() => /port \d+/.test(output), { timeoutMs: 30_000, message: "the app to listen" });
      const port = /port (\d+)/.exec(output)?.[1];
      const answer = await fetch(`http://127.0.0.1:${port}/pay`).then(
        (response) => response.status,
        (error: Error) => error.message,
      );
      expect(answer, "no answer: the process died").toBe("fetch failed");
      const [code] = await exited;
      expect(code).toBe(1);
      expect(output).toContain("acquired");
      expect(output).toContain("Error: payment failed in an unguarded async handler");
      // The dead process's session lives on in ZooKeeper until it expires, and its node with it.
      expect((await zk.manager.inspect("crash", { rootDir })).holder).toBeDefined();
      await zk.untilFree("crash", rootDir);
    } finally {
      if (child.exitCode === null) child.kill();
    }
  });
});
