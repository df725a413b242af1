import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fourLetter } from "../src/index.js";
import setup, { zooKeeperGlobalSetup } from "../src/vitest.js";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("zooKeeperGlobalSetup", () => {
  it("starts one server, provides zkConnect and zkServerPid, and stops it in teardown", async () => {
    vi.stubEnv("ZK_CONNECT", "");
    const provided = new Map<string, string | number>();
    const teardown = await zooKeeperGlobalSetup({ tickTime: 200 })({
      provide: (key, value) => provided.set(key, value),
    });
    const connect = provided.get("zkConnect") as string;
    expect(connect).toMatch(/^127\.0\.0\.1:\d+$/);
    // The JVM itself (the launcher execs it): its executable is java, not the shell that starts it.
    // `ps` rather than /proc, which only Linux has; for a pid that is gone it fails.
    const pid = provided.get("zkServerPid") as number;
    const executable = execFileSync("ps", ["-o", "comm=", "-p", String(pid)], { encoding: "utf8" });
    expect(executable.trim()).toMatch(/(^|\/)java$/);
    const port = Number(connect.split(":")[1]);
    const answer = await fourLetter("127.0.0.1", port, "srvr");
    expect(answer).toMatch(/Mode: standalone/);
    await teardown();
    await expect(fourLetter("127.0.0.1", port, "srvr", { timeoutMs: 1000 })).rejects.toMatchObject({
      code: "FOUR_LETTER_FAILED",
    });
  });

  it("uses ZK_CONNECT instead of starting a server", async () => {
    vi.stubEnv("ZK_CONNECT", "zk1:2181,zk2:2181");
    const provided = new Map<string, string | number>();
    const teardown = await setup({ provide: (key, value) => provided.set(key, value) });
    expect(provided.get("zkConnect")).toBe("zk1:2181,zk2:2181");
    expect(provided.has("zkServerPid")).toBe(false);
    await teardown();
  });
});
