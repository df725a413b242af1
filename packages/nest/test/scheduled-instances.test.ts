// Three instances (processes) of a Nest application with @Cron("* * * * * *") jobs that append to
// one file, one of them with its clock 1.5 s ahead (more than the jobs' 300 ms), and the leading
// instance killed halfway. Run for about 12 s instead of the issue's 30 s, to keep CI time down.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "@zk-dist-lock/testing";
import { afterAll, describe, expect, inject, it } from "vitest";
import { uniqueRoot } from "./helpers.js";

const connect = inject("zkConnect");
const fixture = fileURLToPath(new URL("./fixtures/scheduled-instance.ts", import.meta.url));
const packageDir = fileURLToPath(new URL("..", import.meta.url));
const SKEW_MS = 1500;

interface Instance {
  child: ChildProcess;
  output: string;
}

interface Run {
  job: string;
  second: number;
  instance: number;
}

describe("three instances of a scheduled application", () => {
  const instances: Instance[] = [];
  const dir = mkdtempSync(join(tmpdir(), "zk-nest-schedule-"));
  const file = join(dir, "runs");
  const rootDir = uniqueRoot();

  afterAll(() => {
    for (const { child } of instances)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  function start(id: number, skew: number): Instance {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--conditions=@zk-dist-lock/source",
        fixture,
        connect,
        rootDir,
        file,
        String(id),
        String(skew),
      ],
      { cwd: packageDir, stdio: ["pipe", "pipe", "pipe"] },
    );
    const instance: Instance = { child, output: "" };
    child.stdout?.on("data", (chunk) => {
      instance.output += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      instance.output += chunk;
    });
    instances.push(instance);
    return instance;
  }
  const runs = (): Run[] => {
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      return [];
    }
    return text
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [job, second, instance] = line.split(" ");
        return { job: job!, second: Number(second), instance: Number(instance) };
      });
  };
  const report = () =>
    `${instances.map((x, id) => `instance ${id}:\n${x.output}`).join("\n")}\nruns:\n${runs()
      .map((r) => `${r.job} ${new Date(r.second).toISOString()} ${r.instance}`)
      .join("\n")}`;

  it("runs each second's firing exactly once with @OncePerFiring(), also across clock skew and the leader's death", async () => {
    // The skewed instance starts first, so that it leads.
    start(0, SKEW_MS);
    await waitFor(() => runs().some((r) => r.job === "leader"), {
      timeoutMs: 60_000,
      message: "instance 0 leading",
    });
    start(1, 0);
    start(2, 0);
    await waitFor(() => instances.every((x) => x.output.includes("ready")), {
      timeoutMs: 60_000,
      message: "every instance ready",
    });
    const onceRuns = () => runs().filter((r) => r.job === "once").length;
    const ready = onceRuns();
    await waitFor(() => onceRuns() >= ready + 5, {
      timeoutMs: 20_000,
      message: "five seconds with all three instances",
    });

    // Kill the leader right after one of its runs was written, so that it dies between firings
    // rather than between a claim and its run (a claim is at most once: that firing would be lost).
    const written = runs().length;
    await waitFor(
      () =>
        runs()
          .slice(written)
          .some((r) => r.job === "once" && r.instance === 0),
      {
        message: "a run of the leader",
      },
    );
    instances[0]!.child.kill("SIGKILL");
    const killedAt = Date.now();
    await waitFor(() => runs().some((r) => r.job === "leader" && r.instance !== 0), {
      timeoutMs: 15_000,
      message: "a new leader",
    });
    await waitFor(() => runs().filter((r) => r.job === "once" && r.second > killedAt).length >= 5, {
      timeoutMs: 20_000,
      message: "five seconds after the kill",
    });
    for (const x of instances.slice(1)) x.child.stdin?.end("stop\n");
    await Promise.all(instances.slice(1).map((x) => new Promise((resolve) => x.child.once("exit", resolve))));

    const all = runs();
    const seconds = (job: string) => all.filter((r) => r.job === job).map((r) => r.second);
    // Once per firing: every second from the first to the last ran exactly once, before the kill
    // (mostly on the instance ahead, which fires first) and after it (on the others).
    const once = seconds("once");
    const [first, last] = [Math.min(...once), Math.max(...once)];
    const expected = Array.from({ length: (last - first) / 1000 + 1 }, (_, i) => first + 1000 * i);
    expect(
      [...once].sort((a, b) => a - b),
      report(),
    ).toEqual(expected);
    expect(all.some((r) => r.job === "once" && r.instance !== 0 && r.second > killedAt)).toBe(true);

    // Leader only: never twice for a second, one instance at a time, in order; none in the handover.
    const leader = all.filter((r) => r.job === "leader");
    expect(new Set(leader.map((r) => r.second)).size, report()).toBe(leader.length);
    expect(leader.map((r) => r.second)).toEqual([...leader.map((r) => r.second)].sort((a, b) => a - b));
    const leaders = leader.map((r) => r.instance).filter((id, i, ids) => i === 0 || id !== ids[i - 1]);
    expect(leaders).toHaveLength(2);
    expect(leaders[0]).toBe(0);

    // The control: a lock per firing, held only while the job runs, let the instance whose clock
    // is 1.5 s ahead run a second's job, finish, and the others run the same second again.
    const locked = seconds("locked");
    expect(new Set(locked).size).toBeLessThan(locked.length);
  }, 180_000);
});
