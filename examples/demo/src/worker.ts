// One worker process of the demo: its own ZooKeeper session, taking the lock on one resource again
// and again to increment a shared counter (read, work, write). It reports to the parent over IPC.
import { setTimeout as delay } from "node:timers/promises";
import { isLockError, type LockContext, ZkLockManager } from "@zk-dist-lock/core";
import ZooKeeper from "zookeeper";
import type { Command, Report, WorkerConfig } from "./protocol.js";
import { CounterStore } from "./store.js";

const config = JSON.parse(process.argv[2] ?? "") as WorkerConfig;

function report(message: Report): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error("worker.ts must be started by the demo, with an IPC channel"));
    process.send(message, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

const stopping = new AbortController();
let freezeNext = false;
let resume: (() => void) | undefined;

process.on("message", (command: Command) => {
  if (command.type === "freezeNext") freezeNext = true;
  else if (command.type === "write") resume?.();
  else if (command.type === "stop") stopping.abort();
});
// The parent is gone (it crashed or was killed): nobody is left to report to.
process.on("disconnect", () => process.exit(1));

const store = CounterStore.open(config.dbFile, { fenced: config.fenced });
const manager = new ZkLockManager({ rootDir: config.rootDir, label: `worker ${config.id}` });
manager.on("acquired", ({ token }) => void report({ type: "acquired", token }));
manager.on("released", ({ token }) => void report({ type: "released", token }));
manager.on("lost", ({ error }) => void report({ type: "lost", reason: error.message }));

interface Session {
  client: ZooKeeper;
  /** Set once the client closes, which it does by itself when ZooKeeper expired the session. */
  over: boolean;
  closed: Promise<void>;
}

/** A new ZooKeeper session (the first one, or one replacing an expired one), bound to the manager. */
async function openSession(renewed: boolean): Promise<Session> {
  const client = new ZooKeeper({ connect: config.connect, timeout: config.sessionTimeoutMs });
  let markClosed = () => {};
  const session: Session = { client, over: false, closed: new Promise((resolve) => (markClosed = resolve)) };
  client.once("close", () => {
    session.over = true;
    markClosed();
  });
  const connected = new Promise<void>((resolve) => client.once("connect", () => resolve()));
  manager.init(client);
  await connected;
  // The server may grant another timeout than the one asked for (within its min/max bounds).
  await report({ type: "session", sessionTimeoutMs: client.timeout, renewed });
  return session;
}

async function hold({ token, signal }: LockContext): Promise<void> {
  // The fenced read raises the store's fence to this token; it is refused when a newer holder has
  // read already (this hold was lost before it got here), and then there is nothing to write.
  const read = store.read(token);
  if (!read.granted) return report({ type: "readRefused", token, fence: read.fence });
  const { value } = read;
  await delay(config.workMs);
  // A careful holder checks that it still holds the lock before it writes…
  signal.throwIfAborted();
  let stale = false;
  if (freezeNext) {
    freezeNext = false;
    stale = true;
    // …but a process can be paused right after that check (a long GC, swapping, a VM migration).
    // Here the parent SIGSTOPs this process now and, after SIGCONT, tells it to carry on. Nothing
    // is checked again on purpose: a paused process cannot notice that it was paused, so at this
    // point only the store can refuse the write.
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    await report({ type: "freezePoint", token, value });
    await resumed;
  }
  const { applied, before } = store.write(value + 1, token);
  await report({
    type: "wrote",
    token,
    value: value + 1,
    applied,
    before,
    signalAborted: signal.aborted,
    stale,
  });
}

let session = await openSession(false);
while (!stopping.signal.aborted) {
  await report({ type: "waiting" });
  try {
    await manager.withLock(config.resource, hold, { signal: stopping.signal });
  } catch (error) {
    if (isLockError(error, "ABORTED")) break;
    // The hold was lost, or the session ended while waiting: carry on, on a new session if the old
    // one is over. Other errors are bugs and end the worker (the parent then fails the demo).
    if (!isLockError(error, "LOST") && !isLockError(error, "CONNECTION")) throw error;
    // A client whose session just expired refuses requests (a CONNECTION error) a moment before it
    // reports the expiry: give it the session timeout to do so.
    if (isLockError(error, "CONNECTION") && !session.over) {
      await Promise.race([session.closed, delay(config.sessionTimeoutMs)]);
    }
    if (session.over) {
      session.client.close();
      session = await openSession(true);
    } else {
      await delay(50);
    }
  }
}

await manager.close();
session.client.close();
store.close();
await report({ type: "stopped" });
process.exit(0);
