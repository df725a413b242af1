// A contender in its own OS process and ZooKeeper session, for the multi-process exclusion test.
// Usage: node --import tsx --conditions=@zk-dist-lock/source mutex-worker.ts <connect> <rootDir>
//        <resource> <witnessDir> <iterations> <id>
// It prints "ready" once connected, waits for a line on stdin so that every worker starts together,
// then enters the critical section <iterations> times. Inside it exclusive-creates <witnessDir>/inside
// (failing with EEXIST means another process is inside too) and logs "<id> <token> enter|leave".
import { appendFileSync, closeSync, openSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ZkLockManager } from "../../src/index.js";
import { workerClient } from "./worker-client.js";

const [connect, rootDir, resource, witnessDir, iterations, id] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const inside = join(witnessDir, "inside");
const log = join(witnessDir, "log");

const client = workerClient(connect, 10_000);
const connected = new Promise<void>((resolve, reject) => {
  client.onceConnected(() => resolve());
  client.onceEnded(() => reject(new Error(`worker ${id} could not connect to ${connect}`)));
});
const manager = new ZkLockManager({ rootDir }).init(client.zk);
await connected;
process.stdout.write("ready\n");
await new Promise((resolve) => process.stdin.once("data", resolve));

for (let i = 0; i < Number(iterations); i++) {
  await manager.withLock(resource, async ({ token }) => {
    closeSync(openSync(inside, "wx"));
    appendFileSync(log, `${id} ${token} enter\n`);
    // Stay inside across a few turns of the event loop, long enough for an overlapping holder to show.
    await delay(3);
    appendFileSync(log, `${id} ${token} leave\n`);
    unlinkSync(inside);
  });
}
await manager.close();
client.close();
process.exit(0);
