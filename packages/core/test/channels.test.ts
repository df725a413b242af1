// What a diagnostics_channel subscriber sees of acquisitions that succeed, wait, time out, are
// aborted and lose their session, and of releases and losses, on a real server.
import { subscribe, tracingChannel, unsubscribe } from "node:diagnostics_channel";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  type AcquireContext,
  channelNames,
  type HoldMessage,
  isLockError,
  type LostMessage,
} from "../src/index.js";
import { closeClients, killSession, startManager, type TestManager, uniqueRoot } from "./support/zk.js";

const connect = inject("zkConnect");

type Seen = { event: string; context: AcquireContext };

function record() {
  const seen: Seen[] = [];
  const points: { name: string; message: unknown }[] = [];
  const on = (event: string) => (context: AcquireContext) => seen.push({ event, context: { ...context } });
  const handlers = {
    start: on("start"),
    end: on("end"),
    asyncStart: on("asyncStart"),
    asyncEnd: on("asyncEnd"),
    error: on("error"),
  };
  const acquire = tracingChannel<unknown, AcquireContext>(channelNames.acquire);
  acquire.subscribe(handlers);
  const pointHandlers = Object.values(channelNames)
    .filter((name) => name !== channelNames.acquire)
    .map((name) => [name, (message: unknown) => points.push({ name, message })] as const);
  for (const [name, handler] of pointHandlers) subscribe(name, handler);
  return {
    seen,
    points,
    events: () => seen.map((s) => s.event),
    stop() {
      acquire.unsubscribe(handlers);
      for (const [name, handler] of pointHandlers) unsubscribe(name, handler);
    },
  };
}

describe("diagnostics channels", () => {
  let recorder: ReturnType<typeof record>;
  const managers: TestManager[] = [];
  const open = async (rootDir: string) => {
    const started = await startManager(connect, { rootDir });
    managers.push(started);
    return started.manager;
  };

  const waitsFor = (resource: string) =>
    recorder.points.filter(
      (p) => p.name === channelNames.wait && (p.message as AcquireContext).resource === resource,
    ).length;

  beforeEach(() => {
    recorder = record();
  });

  afterEach(async () => {
    recorder.stop();
    await Promise.allSettled(managers.map(({ manager }) => manager.close()));
    managers.length = 0;
    closeClients();
  });

  it("traces an uncontended acquisition from start to asyncEnd with its token, then its release", async () => {
    const rootDir = uniqueRoot("channels");
    const manager = await open(rootDir);
    const lock = manager.createLock("order:1");
    const token = await lock.acquire();
    await lock.acquire(); // re-entrant: no second acquisition
    expect(recorder.events()).toEqual(["start", "end", "asyncStart", "asyncEnd"]);
    const done = recorder.seen.at(-1)?.context;
    expect(done).toMatchObject({
      resource: "order:1",
      path: `${rootDir}/order%3A1`,
      recipe: "lock",
      mode: "exclusive",
      waited: false,
      token,
      node: lock.nodePath,
    });
    await lock.release();
    await lock.release();
    const released = recorder.points.filter((p) => p.name === channelNames.release);
    expect(released).toHaveLength(1);
    expect(released[0]?.message).toMatchObject({
      resource: "order:1",
      recipe: "lock",
      mode: "exclusive",
      token,
    } satisfies Partial<HoldMessage>);
    expect(recorder.points.some((p) => p.name === channelNames.wait)).toBe(false);
    // The manager's own event says the same.
    expect(managers[0]?.events.find((e) => e.name === "released")).toMatchObject({ token, path: done?.node });
  });

  it("publishes wait when an acquisition queues, and error + asyncEnd when it times out or is aborted", async () => {
    const rootDir = uniqueRoot("channels");
    const holder = await open(rootDir);
    const waiter = await open(rootDir);
    const held = holder.createLock("busy");
    await held.acquire();
    recorder.seen.length = 0;

    // Long enough for the first listing's reply to come back under load, so that it has waited.
    await expect(waiter.createLock("busy").acquire({ timeout: 1000 })).rejects.toSatisfy((e) =>
      isLockError(e, "TIMEOUT"),
    );
    const controller = new AbortController();
    const aborted = waiter.createLock("busy").acquire({ signal: controller.signal });
    await expect.poll(() => waitsFor("busy")).toBe(2);
    controller.abort();
    await expect(aborted).rejects.toSatisfy((e) => isLockError(e, "ABORTED"));

    expect(recorder.events()).toEqual([
      ...["start", "end", "error", "asyncStart", "asyncEnd"],
      ...["start", "end", "error", "asyncStart", "asyncEnd"],
    ]);
    const failures = recorder.seen.filter((s) => s.event === "asyncEnd").map((s) => s.context);
    expect(failures.map((c) => [c.waited, (c.error as { code?: string }).code])).toEqual([
      [true, "TIMEOUT"],
      [true, "ABORTED"],
    ]);
    const waits = recorder.points.filter((p) => p.name === channelNames.wait);
    expect(waits.map((p) => (p.message as AcquireContext).resource)).toEqual(["busy", "busy"]);
    await held.release();
  });

  it("publishes wait to a subscriber of wait alone", async () => {
    recorder.stop();
    const waits: AcquireContext[] = [];
    const onWait = (message: unknown) => waits.push({ ...(message as AcquireContext) });
    subscribe(channelNames.wait, onWait);
    try {
      const rootDir = uniqueRoot("channels");
      const [holder, waiter] = [await open(rootDir), await open(rootDir)];
      const held = holder.createLock("alone");
      await held.acquire();
      const waiting = waiter.createLock("alone").acquire();
      await expect.poll(() => waits.length).toBe(1);
      expect(waits[0]).toMatchObject({ resource: "alone", recipe: "lock", mode: "exclusive", waited: true });
      await held.release();
      await waiting;
    } finally {
      unsubscribe(channelNames.wait, onWait);
    }
  });

  it("reports a waited acquisition that succeeds, and a hold lost with its session", async () => {
    const rootDir = uniqueRoot("channels");
    const first = await open(rootDir);
    const other = await startManager(connect, { rootDir, sessionTimeoutMs: 4000 });
    managers.push(other);
    const held = first.createLock("job");
    await held.acquire();
    const waiting = other.manager.createLock("job").acquire();
    await expect.poll(() => waitsFor("job")).toBe(1);
    await held.release();
    const token = await waiting;
    const granted = recorder.seen.filter((s) => s.event === "asyncEnd").at(-1)?.context;
    expect(granted).toMatchObject({ waited: true, token });

    await killSession(connect, other.client);
    await expect.poll(() => recorder.points.some((p) => p.name === channelNames.lost)).toBe(true);
    const lost = recorder.points.find((p) => p.name === channelNames.lost)?.message as LostMessage;
    expect(lost).toMatchObject({ resource: "job", token, recipe: "lock" });
    expect(isLockError(lost.error, "LOST")).toBe(true);
  });

  it("says what each hold is: a shared lock's mode, a semaphore's, and its waits name a permit", async () => {
    const rootDir = uniqueRoot("channels");
    const manager = await open(rootDir);
    const read = manager.createLock("catalog", { mode: "shared" });
    const quota = manager.createSemaphore("geocoder", { permits: 1 });
    await read.acquire();
    await quota.acquire();
    const other = await open(rootDir);
    const error = await other
      .createSemaphore("geocoder", { permits: 1 })
      .acquire({ timeout: 50 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'Timed out after 50 ms waiting for a permit of "geocoder".' });
    await read.release();
    await quota.release();

    const acquired = recorder.seen.filter((s) => s.event === "asyncEnd").map((s) => s.context);
    expect(acquired.map((c) => [c.resource, c.recipe, c.mode])).toEqual([
      ["catalog", "lock", "shared"],
      ["geocoder", "semaphore", "semaphore"],
      ["geocoder", "semaphore", "semaphore"],
    ]);
    const released = recorder.points
      .filter((p) => p.name === channelNames.release)
      .map((p) => p.message as HoldMessage);
    expect(released.map((m) => [m.resource, m.recipe, m.mode])).toEqual([
      ["catalog", "lock", "shared"],
      ["geocoder", "semaphore", "semaphore"],
    ]);
    expect(manager.createSemaphore("geocoder", { permits: 1 }).mode).toBe("semaphore");
  });
});
