import { once } from "node:events";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isLockError } from "@zk-dist-lock/core";
import { describe, expect, inject, it } from "vitest";
import { distributedLock, getLock } from "../src/index.js";
import { gate, openManager, rawGet, serve, sharedManager, uniqueRoot } from "./support.js";

const connect = inject("zkConnect");
const zk = sharedManager();

describe("distributedLock() tells the handler what happened", () => {
  it("aborts signal with a LockLostError when the session ends, and leaves clientSignal alone", async () => {
    const rootDir = uniqueRoot();
    const own = await openManager(connect);
    const entered = gate();
    const seen: { lost?: unknown; clientLeft?: boolean } = {};
    const app = await serve((app) =>
      app.get("/x", distributedLock(own.manager, { key: "lost", rootDir }), async (_req, res) => {
        const lock = getLock(res);
        entered.open();
        await once(lock.signal, "abort");
        seen.lost = lock.signal.reason;
        seen.clientLeft = lock.clientSignal.aborted;
        res.sendStatus(503);
      }),
    );
    try {
      const request = rawGet(app.port, "/x");
      await entered.opened;
      own.manager.client.close();
      expect(await request.response).toMatchObject({ status: 503 });
      expect(isLockError(seen.lost, "LOST")).toBe(true);
      expect((seen.lost as Error).message).toBe(
        'The lock on "lost" was lost: the ZooKeeper client was closed.',
      );
      expect(seen.clientLeft).toBe(false);
    } finally {
      await app.close();
      await own.close();
    }
  });

  it("keeps a streamed response's hold after its client left until the stream's callback calls release()", async () => {
    const rootDir = uniqueRoot();
    const entered = gate();
    let streamError: unknown;
    const app = await serve((app) =>
      app.get("/report", distributedLock(zk.manager, { key: "report", rootDir }), async (_req, res) => {
        const lock = getLock(res);
        // An endless report, a line every 20 ms, until the client goes away.
        const lines = Readable.from(
          (async function* () {
            for (let line = 1; ; line++) {
              if (line === 2) entered.open();
              yield `line ${line}\n`;
              await new Promise((resolve) => setTimeout(resolve, 20));
            }
          })(),
        );
        try {
          await pipeline(lines, res);
        } catch (error) {
          streamError = error;
          // The stream failed, so nothing ends the response: give the lock back here.
          await lock.release();
        }
      }),
    );
    try {
      const request = rawGet(app.port, "/report");
      await entered.opened;
      expect((await zk.manager.inspect("report", { rootDir })).holder).toBeDefined();
      request.abort();
      await zk.untilFree("report", rootDir);
      expect(streamError).toMatchObject({ code: "ERR_STREAM_PREMATURE_CLOSE" });
      expect(zk.holds("report", rootDir)).toEqual({ acquired: 1, released: 1 });
    } finally {
      await app.close();
    }
  });
});

describe("distributedLock() with maxHold", () => {
  it("releases a hold whose response never ends after maxHold, with a warning and a LockLostError", async () => {
    const rootDir = uniqueRoot();
    const entered = gate();
    const answer = gate();
    const warnings: Error[] = [];
    const onWarning = (warning: Error & { code?: string }) => {
      if (warning.code === "ZK_DIST_LOCK_MAX_HOLD" && warning.message.includes('"stuck"'))
        warnings.push(warning);
    };
    process.on("warning", onWarning);
    let reason: unknown;
    let secondRan = false;
    const lock = distributedLock(zk.manager, { key: "stuck", rootDir, maxHold: 100 });
    const app = await serve((app) => {
      app.get("/stuck", lock, async (_req, res) => {
        const { signal } = getLock(res);
        entered.open();
        await once(signal, "abort");
        reason = signal.reason;
        await answer.opened;
        res.sendStatus(204);
      });
      app.get("/next", lock, (_req, res) => {
        secondRan = true;
        res.sendStatus(204);
      });
    });
    try {
      const stuck = rawGet(app.port, "/stuck");
      await entered.opened;
      stuck.abort();
      // Another request gets in while the first handler still runs: what maxHold trades for liveness.
      expect((await fetch(app.url("/next"))).status).toBe(204);
      expect(secondRan).toBe(true);
      await expect.poll(() => warnings.length).toBe(1);
      expect(warnings[0]).toMatchObject({ name: "ZkDistLockWarning" });
      expect(warnings[0]?.message).toMatch(
        /^distributedLock\(\) released the lock on "stuck" \(token \d+\) after maxHold \(100 ms\): GET \/stuck had not ended its response(; its client had left)?\. Its handler may still be running/,
      );
      expect(isLockError(reason, "LOST")).toBe(true);
      expect((reason as Error).message).toBe(
        'The lock on "stuck" was lost: the middleware released it after maxHold (100 ms), before the response was ended.',
      );
      // The first handler ends its response later: nothing is released a second time.
      answer.open();
      await zk.untilFree("stuck", rootDir);
      expect(zk.holds("stuck", rootDir)).toEqual({ acquired: 2, released: 2 });
    } finally {
      answer.open();
      process.off("warning", onWarning);
      await app.close();
    }
  });
});
