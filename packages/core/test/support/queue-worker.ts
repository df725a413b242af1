// Contenders in their own OS process, each on its own ZooKeeper session, for the multi-process
// tests of shared locks and semaphores.
// Usage: node --import tsx --conditions=@zk-dist-lock/source queue-worker.ts <connect> <rootDir>
//        <resource> <witnessDir> <how> <sessions> <id> <sessionTimeoutMs>
// <how> is "mixed" (a lock, one turn in five exclusive, the others shared) or "semaphore:<permits>".
// It prints "session <id>" for each session and "ready" once every one is connected, then reads
// lines on stdin: "go" lets each session take turns, some with a short timeout or aborted while
// waiting; "hold" makes each session keep its next hold until the process is killed (it prints
// "holding" then); "stop" ends each session after its current turn.
//
// Two witnesses, read on the holder's own session right after each grant:
// - each holder creates an ephemeral node in <witnessDir> and lists the directory; it deletes the
//   node before it releases. A killed holder's witness nodes go when its session expires, with its
//   queue node, so the listing counts exactly the holds ZooKeeper still counts;
// - the holder lists its queue: a node ahead of its own there was ahead of it at its grant too
//   (sequence numbers only grow), so it shows a node the grant should have waited for.
// It prints "grant <mode> <exclusive> <others> <czxid> <token> <witnessed>" with what the first saw,
// its node's creation zxid, its token and the creation zxid of its witness node (a zxid of the hold),
// "violation …" when a witness saw more than the rule allows, "gave up TIMEOUT" or "gave up ABORTED"
// when a wait ended so, and "done" when a session has ended.
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { isLockError, ZkLockManager } from "../../src/index.js";
import { kindOf, sortContenders } from "../../src/lock-node.js";
import { type WorkerClient, workerClient } from "./worker-client.js";

const [connect, rootDir, resource, witnessDir, how, sessions, id, sessionTimeoutMs] = process.argv.slice(
  2,
) as [string, string, string, string, string, string, string, string];
const permits = how.startsWith("semaphore:") ? Number(how.slice("semaphore:".length)) : undefined;
const say = (line: string) => process.stdout.write(`${line}\n`);
const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

const clients = Array.from({ length: Number(sessions) }, () =>
  workerClient(connect, Number(sessionTimeoutMs)),
);
for (const client of clients) client.onceConnected((sessionId) => say(`session ${sessionId}`));
await Promise.all(clients.map((client) => client.connect()));
say("ready");
const commands = new Set<string>();
await new Promise<void>((resolve) =>
  createInterface({ input: process.stdin }).on("line", (line) => {
    commands.add(line);
    if (line === "go") resolve();
  }),
);

/** What a node of `mode` may find ahead of it in its queue once granted. */
function mayPass(mode: string, ahead: string[]): boolean {
  if (mode === "semaphore") return ahead.length < permits!;
  if (mode === "exclusive") return ahead.length === 0;
  return ahead.every((name) => kindOf(name).mode !== "exclusive");
}

async function contend(client: WorkerClient, session: number): Promise<void> {
  const manager = new ZkLockManager({ rootDir, label: `${id}.${session}` }).init(client.zk);
  while (!commands.has("stop")) {
    const mode = permits !== undefined ? "semaphore" : Math.random() < 0.2 ? "exclusive" : "shared";
    const handle =
      permits !== undefined
        ? manager.createSemaphore(resource, { permits })
        : manager.createLock(resource, { mode: mode as "exclusive" | "shared" });
    // One turn in four gives up after a short timeout, one in eight is aborted while it waits.
    const abort = new AbortController();
    const timeout = Math.random() < 0.25 ? random(10, 150) : undefined;
    if (Math.random() < 0.125) setTimeout(() => abort.abort(), random(5, 100));
    let token: bigint;
    try {
      token = await handle.acquire({ timeout, signal: abort.signal });
    } catch (error) {
      if (!isLockError(error, "TIMEOUT") && !isLockError(error, "ABORTED")) throw error;
      say(`gave up ${error.code}`);
      continue;
    }
    const node = handle.nodePath!;
    const witness = await client.createEphemeralSequential(`${witnessDir}/${mode}-`);
    const seen = await client.children(witnessDir);
    const queue = sortContenders(await client.children(handle.path));
    const ahead = queue.slice(0, queue.indexOf(node.slice(handle.path.length + 1)));
    const exclusive = seen.filter((name) => name.startsWith("exclusive-")).length;
    const others = seen.length - exclusive;
    say(
      `grant ${mode} ${exclusive} ${others} ${await client.czxid(node)} ${token} ${await client.czxid(witness)}`,
    );
    const allowed =
      mode === "semaphore"
        ? seen.length <= permits!
        : mode === "exclusive"
          ? seen.length === 1
          : exclusive === 0;
    if (!allowed) say(`violation ${mode} saw ${seen.join(",")}`);
    if (!mayPass(mode, ahead)) say(`violation ${mode} ${node} granted ahead of ${ahead.join(",")}`);
    if (commands.has("hold")) {
      say("holding");
      await new Promise(() => {});
    }
    await delay(random(2, 25));
    await client.delete(witness);
    await handle.release();
  }
  say("done");
  await manager.close();
}

await Promise.all(clients.map((client, session) => contend(client, session)));
for (const client of clients) client.close();
process.exit(0);
