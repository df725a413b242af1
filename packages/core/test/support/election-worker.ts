// A candidate in its own OS process and ZooKeeper session, for the multi-process election test.
// Usage: node --import tsx --conditions=@zk-dist-lock/source election-worker.ts <connect> <rootDir>
//        <election> <log> <id> <sessionTimeoutMs>
// It leads with election.lead() for as long as it lives: while leading it appends
// "<ms> <id> <token> work" to <log> every 20 ms, having checked its term's signal just before, and
// "<ms> <id> <token> elected|ended <reason>" at the edges of each term. When its session ends it
// gives the manager a new client, as an application with init() clients does. It prints
// "session <id>" for every session; a line on stdin stops it.
import { appendFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import { ZkLockManager } from "../../src/index.js";
import { type WorkerClient, workerClient } from "./worker-client.js";

const [connect, rootDir, name, log, id, sessionTimeout] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];

const write = (token: bigint, what: string) => appendFileSync(log, `${Date.now()} ${id} ${token} ${what}\n`);
const manager = new ZkLockManager({ label: `worker-${id}` });
let stopping = false;
let client: WorkerClient | undefined;

/** A new client for the manager; listened to after init(), so that the manager hears of its close first. */
function connectNew(): void {
  const next = workerClient(connect, Number(sessionTimeout));
  next.onceConnected((sessionId) => process.stdout.write(`session ${sessionId}\n`));
  manager.init(next.zk);
  next.onceEnded(() => {
    if (!stopping) connectNew();
  });
  client = next;
}

connectNew();
const stop = new AbortController();
process.stdin.once("data", () => stop.abort());
await manager.createElection(name, { rootDir }).lead(
  async ({ token, signal }) => {
    write(token, "elected");
    while (!signal.aborted) {
      write(token, "work");
      await delay(20, undefined, { signal }).catch(() => {});
    }
    write(token, `ended ${(signal.reason as Error).name}:${(signal.reason as { code?: string }).code}`);
  },
  { signal: stop.signal },
);
stopping = true;
await manager.close();
client?.close();
process.exit(0);
