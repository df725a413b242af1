// One process of the bench's fleet (fleet.ts): opens lock sessions when told, loops them until the
// deadline it is given (or for a count of holds), answers with what each session recorded, and
// closes them when told. It ends with its parent.
import { connectManager } from "../managers.js";
import {
  type FleetKind,
  type FromChild,
  monotonicUs,
  type SessionRecord,
  type ToChild,
} from "./fleet-protocol.js";
import { criticalSection, type Sharing, sharingTurns, type Turn } from "./sharing.js";
import { type CoreName, clientOf, cpuMsSince } from "./types.js";

interface Session {
  /** Takes this session's next turn; resolves to its token and mode. */
  acquire(): Promise<{ token: bigint; exclusive: boolean }>;
  release(): Promise<void>;
  close(): Promise<void>;
}

async function openSession(
  connect: string,
  impl: CoreName,
  path: string,
  sharing: Sharing | undefined,
  index: number,
): Promise<Session> {
  const slash = path.lastIndexOf("/");
  const [rootDir, resource] = [path.slice(0, slash), path.slice(slash + 1)];
  const manager = await connectManager(connect, clientOf(impl));
  let next: () => Turn;
  if (sharing) next = sharingTurns(manager, rootDir, resource, sharing, index);
  else {
    const mutex = { handle: manager.createLock(resource, { rootDir }), exclusive: true };
    next = () => mutex;
  }
  let turn: Turn | undefined;
  return {
    async acquire() {
      turn = next();
      return { token: await turn.handle.acquire(), exclusive: turn.exclusive };
    },
    release: () => turn!.handle.release(),
    close: () => manager.close(),
  };
}

const send = (message: FromChild) => process.send!(message);

interface Opened {
  sessions: Session[];
  kind: FleetKind;
  sharing: Sharing | undefined;
}

let opened: Opened | undefined;

async function loop(
  session: Session,
  { kind, sharing }: Opened,
  more: () => boolean,
): Promise<SessionRecord> {
  const record: SessionRecord = { holds: [], tokens: [], modes: "", cyclesMs: [] };
  // A session takes one turn even when "go" came after the deadline (a loaded machine), so that
  // every session of a measurement has a hold to show.
  while (more() || record.tokens.length + record.cyclesMs.length === 0) {
    const t0 = monotonicUs();
    const { token, exclusive } = await session.acquire();
    if (kind === "contend") {
      const t1 = monotonicUs();
      await criticalSection(sharing);
      record.holds.push(t0, t1, monotonicUs());
      record.tokens.push(token.toString());
      record.modes += exclusive ? "x" : "s";
      await session.release();
    } else {
      await session.release();
      record.cyclesMs.push((monotonicUs() - t0) / 1000);
    }
  }
  return record;
}

/** Whether a loop goes on: true `holds` times, shared by the process's sessions. */
const countdown = (holds: number) => () => holds-- > 0;
const before = (deadlineUs: number) => () => monotonicUs() < deadlineUs;

async function handle(message: ToChild): Promise<void> {
  if (message.type === "open") {
    const { connect, impl, kind, paths, sharing } = message;
    const sessions = await Promise.all(paths.map((path, i) => openSession(connect, impl, path, sharing, i)));
    opened = { sessions, kind, sharing };
    send({ type: "opened" });
    return;
  }
  if (!opened) throw new Error(`${message.type} before open`);
  if (message.type === "close") {
    const { sessions } = opened;
    opened = undefined;
    await Promise.allSettled(sessions.map((session) => session.close()));
    send({ type: "closed" });
    return;
  }
  const loops = opened;
  const more = "holds" in message ? countdown(message.holds) : before(message.deadlineUs);
  const cpu = process.cpuUsage();
  const records = await Promise.all(loops.sessions.map((session) => loop(session, loops, more)));
  send({ type: "done", sessions: records, cpuMs: cpuMsSince(cpu), finishUs: monotonicUs() });
}

process.on("message", (message: ToChild) => {
  handle(message).catch((error: Error) => send({ type: "error", message: error.stack ?? String(error) }));
});
process.on("disconnect", () => process.exit(0));
send({ type: "up" });
