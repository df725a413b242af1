// Run by memory.ts in a child process with --expose-gc: holds `count` locks at once with one
// manager on a client of <kind> (client or binding) and prints what that cost, as one JSON line.
// Usage: memory-child.ts <connect> <rootDir> <count> <kind>
import type { ZkLock } from "@zk-dist-lock/core";
import { connectManager } from "../managers.js";
import { type ClientKind, clientKinds } from "./types.js";

const [connect, rootDir, countArg, kind] = process.argv.slice(2);
const count = Number(countArg);
const gc = globalThis.gc;
if (!connect || !rootDir || !Number.isInteger(count) || !clientKinds.includes(kind as ClientKind) || !gc) {
  console.error("usage: node --expose-gc memory-child.ts <connect> <rootDir> <count> <client|binding>");
  process.exit(2);
}

const settle = () => {
  for (let i = 0; i < 3; i++) gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
};

const manager = await connectManager(connect, kind as ClientKind);
// Warm up the code paths (and create rootDir) so that the baseline holds no first-use costs.
await manager.withLock("warm-up", () => {}, { rootDir });
const before = settle();
const locks: ZkLock[] = [];
const BATCH = 500;
for (let i = 0; i < count; i += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) =>
    manager.createLock(`held-${i + j}`, { rootDir }),
  );
  await Promise.all(batch.map((lock) => lock.acquire()));
  locks.push(...batch);
}
const held = settle();
const stillHeld = locks.filter((lock) => lock.isHeld).length;
await Promise.all(locks.map((lock) => lock.release()));
locks.length = 0;
const after = settle();
console.log(
  JSON.stringify({
    count,
    stillHeld,
    heapPerLock: (held.heapUsed - before.heapUsed) / count,
    rssPerLock: (held.rss - before.rss) / count,
    heapAfterReleasePerLock: (after.heapUsed - before.heapUsed) / count,
  }),
);
await manager.close();
