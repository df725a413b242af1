import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { ZkLockManager } from "@zk-dist-lock/core";
import type { CpuMeter } from "../cpu-time.js";
import { connectManager } from "../managers.js";
import { shareOneLoop } from "./sharing.js";
import {
  type ClientKind,
  type ContendedSample,
  type Contender,
  type CycleSample,
  cpuMsSince,
} from "./types.js";

/** Splits a lock path into the manager's `rootDir` and resource name. */
const split = (path: string) => {
  const slash = path.lastIndexOf("/");
  return { rootDir: path.slice(0, slash), resource: path.slice(slash + 1) };
};

/** zk-dist-lock itself on a client of `kind`: one manager on one client, as an application would run it. */
export async function coreContender(connect: string, kind: ClientKind): Promise<Contender> {
  const manager = await connectManager(connect, kind);
  return {
    name: `core-${kind}`,
    async uncontended(path, cycles): Promise<CycleSample> {
      const { rootDir, resource } = split(path);
      const lock = manager.createLock(resource, { rootDir });
      const latenciesMs: number[] = [];
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < cycles; i++) {
        const t0 = performance.now();
        await lock.acquire();
        await lock.release();
        latenciesMs.push(performance.now() - t0);
      }
      return { elapsedMs: performance.now() - start, latenciesMs, cpuMs: cpuMsSince(cpu) };
    },
    async many(rootDir, count) {
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        const lock = manager.createLock(`r${i}`, { rootDir });
        await lock.acquire();
        await lock.release();
      }
      return performance.now() - start;
    },
    contended: (path, sessions, durationMs, meter) =>
      withManagers(connect, kind, sessions, (managers) => contendCore(managers, path, durationMs, meter)),
    share: (path, sessions, durationMs, sharing, meter) =>
      withManagers(connect, kind, sessions, (managers) => {
        const { rootDir, resource } = split(path);
        return shareOneLoop(managers, rootDir, resource, durationMs, sharing, meter);
      }),
    close: () => manager.close(),
  };
}

/** Runs `fn` with `sessions` managers, each on a client of `kind` of its own, in this process; closes them after. */
async function withManagers<T>(
  connect: string,
  kind: ClientKind,
  sessions: number,
  fn: (managers: ZkLockManager[]) => Promise<T>,
): Promise<T> {
  const managers = await Promise.all(Array.from({ length: sessions }, () => connectManager(connect, kind)));
  try {
    return await fn(managers);
  } finally {
    await Promise.all(managers.map((manager) => manager.close()));
  }
}

/**
 * K sessions, one manager each, loop on one resource. Every critical section yields to the event
 * loop, so the other sessions' replies and watches are processed while it is held: a second
 * holder would be seen by the witness counter.
 */
async function contendCore(
  managers: readonly ZkLockManager[],
  path: string,
  durationMs: number,
  meter: CpuMeter,
): Promise<ContendedSample> {
  const { rootDir, resource } = split(path);
  let inside = 0;
  let overlaps = 0;
  const perSession = managers.map(() => 0);
  const waitsMs: number[] = [];
  const handoffsMs: number[] = [];
  let releasedAt = 0;
  meter.start();
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    managers.map(async (manager, session) => {
      const lock = manager.createLock(resource, { rootDir });
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await lock.acquire();
        const t1 = performance.now();
        waitsMs.push(t1 - t0);
        if (releasedAt > t0) handoffsMs.push(t1 - releasedAt);
        if (++inside !== 1) overlaps++;
        await yieldToEventLoop();
        inside--;
        perSession[session]!++;
        releasedAt = performance.now();
        await lock.release();
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  const cpuMs = cpuMsSince(cpu);
  meter.stop();
  return { elapsedMs, overlaps, perSession, waitsMs, handoffsMs, cpuMs };
}
