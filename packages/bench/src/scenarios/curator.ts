import { type ChildProcessWithoutNullStreams, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type CpuMeter, cpuTimeOf } from "../cpu-time.js";
import type { SharingSample } from "./sharing.js";
import type { ContendedSample, Contender, CycleSample } from "./types.js";

const source = fileURLToPath(new URL("../../java/CuratorBench.java", import.meta.url));
/** Debian/Ubuntu's `libcurator-recipes-java`; its manifest's Class-Path brings framework, client, guava and zookeeper. */
const debianJar = "/usr/share/java/curator-recipes.jar";
export const CURATOR_MISSING = "Curator: not installed (bash scripts/setup.sh --with-curator)";

/** Why Curator cannot run here, or undefined when it can. */
export function curatorUnavailable(): string | undefined {
  if (!process.env.CURATOR_CLASSPATH && !existsSync(debianJar)) return CURATOR_MISSING;
  for (const tool of ["java", "javac"]) {
    try {
      execFileSync(tool, ["-version"], { stdio: "ignore" });
    } catch {
      return `Curator: ${tool} not found (bash scripts/setup.sh --with-curator)`;
    }
  }
  return undefined;
}

/**
 * Apache Curator's InterProcessMutex (and its InterProcessReadWriteLock and InterProcessSemaphoreV2
 * for the read-mostly and semaphore scenarios), driven through `java/CuratorBench.java`: compiled
 * with javac into a temporary directory, then run as one long-lived JVM that answers one JSON line
 * per command, so its JIT warms up across runs as the Node side's does.
 */
export async function curatorContender(connect: string): Promise<Contender> {
  const classes = mkdtempSync(join(tmpdir(), "zk-bench-curator-"));
  const classpath = [classes, process.env.CURATOR_CLASSPATH ?? debianJar].join(delimiter);
  // Asynchronously: the other implementations' sessions are open, and a blocked event loop sends no
  // pings (javac takes seconds on a busy machine, past a session timeout).
  await promisify(execFile)("javac", ["-nowarn", "-d", classes, "-cp", classpath, source]);
  const jvm = spawn("java", ["-cp", classpath, "CuratorBench", connect], { stdio: "pipe" });
  let stderr = "";
  jvm.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = createInterface({ input: jvm.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the Curator JVM exited (${jvm.exitCode}):\n${stderr}`);
    const answer = JSON.parse(value);
    if (answer.error) throw new Error(`Curator: ${answer.error}`);
    return answer;
  };
  const send = (words: (string | number)[]) => jvm.stdin.write(`${words.join(" ")}\n`);
  const command = (...words: (string | number)[]) => {
    send(words);
    return next();
  };
  // A command that runs sessions says when its loops start and stop: the JVM's CPU time and the
  // meter's figures are read at both, not over opening and closing its K clients.
  const sessionsCommand = async (meter: CpuMeter, ...words: (string | number)[]) => {
    send(words);
    await next(); // {"looping":true}
    meter.start();
    const jvmCpu = cpuTimeOf(jvm.pid!);
    await next(); // {"stopped":true}
    const loopsCpuMs = jvmCpu();
    meter.stop();
    return { answer: await next(), cpuMs: loopsCpuMs };
  };
  await next(); // {"ready":true}: connected
  return {
    name: "curator",
    async uncontended(path, cycles): Promise<CycleSample> {
      const answer = await command("u", path, cycles);
      return { elapsedMs: answer.elapsedMs as number, latenciesMs: micros(answer.latenciesUs) };
    },
    async many(root, count) {
      return (await command("m", root, count)).elapsedMs as number;
    },
    async contended(path, sessions, durationMs, meter): Promise<ContendedSample> {
      const { answer, cpuMs } = await sessionsCommand(meter, "c", path, sessions, durationMs);
      return {
        elapsedMs: answer.elapsedMs as number,
        overlaps: answer.overlaps as number,
        perSession: answer.perSession as number[],
        waitsMs: micros(answer.waitsUs),
        handoffsMs: micros(answer.handoffsUs),
        cpuMs,
      };
    },
    async share(path, sessions, durationMs, sharing, meter): Promise<SharingSample> {
      const { answer, cpuMs } =
        sharing.kind === "read-mostly"
          ? await sessionsCommand(meter, "rw", path, sessions, durationMs, sharing.seed, sharing.writeShare)
          : await sessionsCommand(meter, "s", path, sessions, durationMs, sharing.permits, sharing.holdMs);
      return {
        elapsedMs: answer.elapsedMs as number,
        perSession: answer.perSession as number[],
        waitsMs: micros(answer.waitsUs),
        writeWaitsMs: micros(answer.writeWaitsUs),
        maxHolders: answer.maxHolders as number,
        overlaps: answer.overlaps as number,
        cpuMs,
      };
    },
    async close() {
      await stop(jvm);
      rmSync(classes, { recursive: true, force: true });
    },
  };
}

const micros = (values: unknown) => (values as number[]).map((us) => us / 1000);

async function stop(jvm: ChildProcessWithoutNullStreams): Promise<void> {
  if (jvm.exitCode !== null) return;
  const exited = new Promise((resolve) => jvm.once("exit", resolve));
  jvm.stdin.end("quit\n");
  const timer = setTimeout(() => jvm.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
