// One worker process of the soak: its own ZooKeeper session (a new one whenever the old one
// expires), taking the lock on a random resource and doing a read-modify-write on the fenced store,
// again and again, reporting every step with the moment it happened.
import { setTimeout as delay } from "node:timers/promises";
import { isLockError, ZkLockManager } from "@zk-dist-lock/core";
import ZooKeeper from "zookeeper";
import { now } from "./clock.js";
import type { Command, Report, StoreAnswer, StoreRequest, WorkerConfig } from "./protocol.js";
import { Random } from "./random.js";

const config = JSON.parse(process.argv[2] ?? "") as WorkerConfig;
const random = new Random(config.seed);

function report(message: Report): void {
  process.send?.(message);
}

// The store is the soak's: a request and its answer, matched by id.
const answers = new Map<number, (answer: StoreAnswer) => void>();
let nextId = 0;
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;
function ask<A extends StoreAnswer>(request: WithoutId<StoreRequest>): Promise<A> {
  const id = nextId++;
  return new Promise((resolve) => {
    answers.set(id, resolve as (answer: StoreAnswer) => void);
    report({ ...request, id } as StoreRequest);
  });
}

const stopping = new AbortController();
process.on("message", (message: StoreAnswer | Command) => {
  if (message.type === "stop") stopping.abort();
  else {
    answers.get(message.id)?.(message);
    answers.delete(message.id);
  }
});
// The soak is gone: nobody to report to.
process.on("disconnect", () => process.exit(1));

// Beats say that the event loop runs; a late tick is a stall, reported once the loop runs again.
let lastTick = now();
setInterval(() => {
  const at = now();
  if (at - lastTick >= config.stallMs) report({ type: "stall", from: lastTick, to: at });
  lastTick = at;
  report({ type: "beat", at });
}, 250);

const manager = new ZkLockManager({ rootDir: config.rootDir, label: `chaos worker ${config.id}` });
for (const kind of ["suspended", "reconnected"] as const) {
  manager.on(kind, ({ resource, token }) => report({ type: kind, resource, token, at: now() }));
}
manager.on("lost", ({ resource, token, error }) => {
  report({ type: "lost", resource, token, at: now(), message: error.message });
  session.lostHolds.push({ resource, token });
});

interface Session {
  client: ZooKeeper;
  over: boolean;
  closed: Promise<void>;
  /** Holds reported lost while this session may still live; if it reconnects, they were lost falsely. */
  lostHolds: { resource: string; token: bigint }[];
}

async function openSession(): Promise<Session> {
  // The binding closes a client by itself, reporting an expiry, after 10 empty polls of its socket
  // (seen 14 ms after a dropped connection): only the server may end our sessions here.
  const client = new ZooKeeper({
    connect: config.connect,
    timeout: config.sessionTimeoutMs,
    response_counter_limit: 1_000_000_000,
  });
  let markClosed = () => {};
  const opened: Session = {
    client,
    over: false,
    closed: new Promise((resolve) => (markClosed = resolve)),
    lostHolds: [],
  };
  client.on("connect", () => {
    report({ type: "connected", sessionId: String(client.client_id), at: now() });
    for (const { resource, token } of opened.lostHolds.splice(0)) {
      report({ type: "falseLoss", resource, token, at: now() });
    }
  });
  client.once("close", (_: unknown, code: number) => {
    opened.over = true;
    opened.lostHolds.length = 0;
    report({ type: "sessionClosed", sessionId: String(client.client_id), code, at: now() });
    markClosed();
  });
  const connected = new Promise<void>((resolve) => client.once("connect", () => resolve()));
  manager.init(client);
  await connected;
  return opened;
}

/** One cycle: lock, read (claim), work, write, release. */
async function cycle(resource: string): Promise<void> {
  const lock = manager.createLock(resource);
  const startedAt = now();
  report({ type: "acquiring", resource, at: startedAt });
  let token: bigint;
  try {
    token = await lock.acquire({ timeout: config.acquireTimeoutMs, signal: stopping.signal });
  } catch (error) {
    if (!isLockError(error)) throw error;
    report({
      type: "acquireFailed",
      resource,
      code: error.code,
      message: error.message,
      startedAt,
      at: now(),
    });
    await afterFailure(error.code);
    return;
  }
  report({
    type: "acquired",
    resource,
    token,
    sessionId: String(session.client.client_id),
    startedAt,
    at: now(),
  });
  try {
    const read = await ask<Extract<StoreAnswer, { type: "claimed" }>>({ type: "claim", resource, token });
    // The work between the read and the write; now and then a long one, so that faults also catch
    // holders in the middle of their work (suspended while they work on).
    await delay(random.next() < 0.03 ? random.between(500, 3000) : random.between(2, 20));
    // A careful holder checks that it still holds the lock right before it writes. (The soak pauses
    // some workers right after this check: then only the fence can refuse their write.)
    if (lock.signal.aborted) {
      report({ type: "writeSkipped", resource, token, at: now() });
      return;
    }
    await ask({
      type: "write",
      resource,
      token,
      value: read.granted ? read.value + 1 : undefined,
      shadow: read.shadow + 1,
    });
  } finally {
    report({ type: "releasing", resource, token, at: now() });
    await lock.release().catch((error: unknown) => {
      if (!isLockError(error)) throw error;
      report({ type: "releaseFailed", resource, code: error.code, message: error.message, at: now() });
    });
  }
}

/** After a failed acquire: a new session if the old one ended, else a breath before the next try. */
async function afterFailure(code: string): Promise<void> {
  if (code === "ABORTED") return;
  // A client whose session just expired refuses requests a moment before it reports the expiry.
  if (code === "CONNECTION" && !session.over)
    await Promise.race([session.closed, delay(config.sessionTimeoutMs)]);
  if (session.over) {
    session.client.close();
    session = await openSession();
  } else {
    await delay(50);
  }
}

let session = await openSession();
while (!stopping.signal.aborted) {
  await cycle(random.pick(config.resources)!);
  if (session.over && !stopping.signal.aborted) {
    session.client.close();
    session = await openSession();
  }
  await delay(random.between(5, 40)); // think time
}
await manager.close();
session.client.close();
report({ type: "stopped", at: now() });
process.exit(0);
