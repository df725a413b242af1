// Two instances of the example service as separate processes on the test's ZooKeeper: only the
// leader relays, and when it is killed (SIGKILL: no chance to resign) the other takes over once
// the dead one's session times out. A graceful stop resigns and hands over.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, describe, expect, inject, it } from "vitest";

const connect = inject("zkConnect");
const exampleDir = fileURLToPath(new URL("..", import.meta.url));
const SESSION_TIMEOUT = 3000;

interface Instance {
  child: ChildProcess;
  output: string;
  url: Promise<string>;
}

describe("the leader-loop example", () => {
  const instances: Instance[] = [];
  const dir = mkdtempSync(join(tmpdir(), "zk-leader-loop-"));
  const workLog = join(dir, "work");

  afterAll(() => {
    for (const { child } of instances)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  function start(): Instance {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--conditions=@zk-dist-lock/source", "src/main.ts"],
      {
        cwd: exampleDir,
        env: {
          ...process.env,
          ZK_CONNECT: connect,
          PORT: "0",
          SESSION_TIMEOUT: String(SESSION_TIMEOUT),
          WORK_LOG: workLog,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const instance = { child, output: "" } as Instance;
    instance.url = waitFor(() => /listening on (http:\/\/\S+),/.exec(instance.output)?.[1], {
      timeoutMs: 60_000,
      message: "the instance to listen",
    });
    child.stdout?.on("data", (chunk) => {
      instance.output += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      instance.output += chunk;
    });
    instances.push(instance);
    return instance;
  }

  const health = async (instance: Instance) =>
    (await (await fetch(`${await instance.url}/health`)).json()) as {
      pid: number;
      isLeader: boolean;
      token?: string;
    };
  const rounds = () =>
    readFileSync(workLog, "utf8")
      .trim()
      .split("\n")
      .map((line) => {
        const [, pid, token] = line.split(" ");
        return { pid: Number(pid), token: BigInt(token!) };
      });

  it("relays on the leader only, and hands over when the leader is killed or stops", async () => {
    const first = start();
    await waitFor(async () => (await health(first)).isLeader, {
      timeoutMs: 60_000,
      message: "the first to lead",
    });
    const second = start();
    expect(await health(second)).toMatchObject({ isLeader: false });
    const leader = (await (await fetch(`${await second.url}/leader`)).json()) as { pid: number };
    expect(leader.pid).toBe(first.child.pid);

    first.child.kill("SIGKILL");
    await waitFor(async () => (await health(second)).isLeader, {
      timeoutMs: SESSION_TIMEOUT + 5000,
      message: "the second to lead within about the session timeout",
    });
    const all = rounds();
    const firstToken = all.find((r) => r.pid === first.child.pid)!.token;
    const secondRounds = all.filter((r) => r.pid === second.child.pid);
    expect(secondRounds.length).toBeGreaterThan(0);
    expect(secondRounds.every((r) => r.token > firstToken)).toBe(true);
    // Once the second relays, the first never does again; before, only the first did.
    const handover = all.findIndex((r) => r.pid === second.child.pid);
    expect(all.slice(0, handover).every((r) => r.pid === first.child.pid)).toBe(true);
    expect(all.slice(handover).every((r) => r.pid === second.child.pid)).toBe(true);

    // A graceful stop resigns and exits cleanly; the third instance leads next.
    const third = start();
    await third.url;
    second.child.kill("SIGTERM");
    expect(await new Promise((resolve) => second.child.once("exit", resolve))).toBe(0);
    await waitFor(async () => (await health(third)).isLeader, { message: "the third to lead" });
    expect(second.output).toMatch(/stops leading: lead\(\) of "outbox-relay" was stopped/);
    third.child.kill("SIGTERM");
    expect(await new Promise((resolve) => third.child.once("exit", resolve))).toBe(0);
  }, 120_000);
});
