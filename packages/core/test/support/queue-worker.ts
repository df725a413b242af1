// Contenders in their own OS process, each on its own ZooKeeper session, for the multi-process
// tests of shared locks and semaphores.
// Usage: node --import tsx --conditions=@zk-dist-lock/source queue-worker.ts <connect> <rootDir>
//        <resource> <witnessDir> <how> <sessions> <durationMs> <id>
// <how> is "mixed" (a lock, one turn in five exclusive, the others shared) or "semaphore:<permits>".
// It prints "ready" once every session is connected, waits for a line on stdin, then lets each
// session take turns for <durationMs>, some with a short timeout or aborted while waiting.
//
// The witness: each holder creates an ephemeral node in <witnessDir> once granted (on its own
// session) and lists the directory; it deletes the node before it releases. The witness nodes of a
// holder whose process is killed go when its session expires, with its queue node, so the listing
// counts exactly the holds ZooKeeper still counts. It prints "grant <mode> <exclusive> <shared>"
// with what it saw, "violation …" when that is more than the rule allows, and at the end
// "done <grants> <timeouts> <aborts>".
import { setTimeout as delay } from "node:timers/promises";
import { isLockError, ZkLockManager } from "../../src/index.js";
import { type WorkerClient, workerClient } from "./worker-client.js";

const [connect, rootDir, resource, witnessDir, how, sessions, durationMs, id] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
];
const permits = how.startsWith("semaphore:") ? Number(how.slice("semaphore:".length)) : undefined;
const say = (line: string) => process.stdout.write(`${line}\n`);
const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

const clients = Array.from({ length: Number(sessions) }, () => workerClient(connect, 2000));
await Promise.all(clients.map((client) => client.connect()));
say("ready");
await new Promise((resolve) => process.stdin.once("data", resolve));
const until = Date.now() + Number(durationMs);

async function contend(client: WorkerClient, session: number): Promise<void> {
  const manager = new ZkLockManager({ rootDir, label: `${id}.${session}` }).init(client.zk);
  let [grants, timeouts, aborts] = [0, 0, 0];
  while (Date.now() < until) {
    const mode = permits !== undefined ? "semaphore" : Math.random() < 0.2 ? "exclusive" : "shared";
    const handle =
      permits !== undefined
        ? manager.createSemaphore(resource, { permits })
        : manager.createLock(resource, { mode: mode as "exclusive" | "shared" });
    // One turn in four gives up after a short timeout, one in eight is aborted while it waits.
    const abort = new AbortController();
    const timeout = Math.random() < 0.25 ? random(10, 150) : undefined;
    if (Math.random() < 0.125) setTimeout(() => abort.abort(), random(5, 100));
    try {
      await handle.acquire({ timeout, signal: abort.signal });
    } catch (error) {
      if (isLockError(error, "TIMEOUT")) timeouts++;
      else if (isLockError(error, "ABORTED")) aborts++;
      else throw error;
      continue;
    }
    grants++;
    const witness = await client.createEphemeralSequential(`${witnessDir}/${mode}-`);
    const seen = await client.children(witnessDir);
    const exclusive = seen.filter((name) => name.startsWith("exclusive-")).length;
    const others = seen.length - exclusive;
    say(`grant ${mode} ${exclusive} ${others}`);
    const allowed =
      mode === "semaphore"
        ? seen.length <= permits!
        : mode === "exclusive"
          ? seen.length === 1
          : exclusive === 0;
    if (!allowed) say(`violation ${mode} saw ${seen.join(",")}`);
    await delay(random(2, 25));
    await client.delete(witness);
    await handle.release();
  }
  say(`done ${grants} ${timeouts} ${aborts}`);
  await manager.close();
}

await Promise.all(clients.map((client, session) => contend(client, session)));
for (const client of clients) client.close();
process.exit(0);
