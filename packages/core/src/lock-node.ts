import { hostname } from "node:os";

// Curator's naming: a per-attempt GUID identifies our node after a lost create reply, and the
// ten-digit suffix ZooKeeper appends orders the contenders.
const PREFIX = "_c_";
const LOCK_MARKER = "-lock-";
const SEQUENCE_DIGITS = 10;

/**
 * What a queue node asks for, as its name says: a listing alone tells every node's part, with no
 * read of any node's data. Semaphore nodes carry their permits, so that processes that disagree on
 * them see it in the listing (kazoo #213 granted more than the maximum when they did).
 */
export type NodeKind =
  | { readonly mode: "exclusive" }
  | { readonly mode: "shared" }
  | { readonly mode: "semaphore"; readonly permits: number };

export const EXCLUSIVE: NodeKind = { mode: "exclusive" };
export const SHARED: NodeKind = { mode: "shared" };

// The mode sits between the GUID and "-lock-", and an exclusive node has none: its name is what
// every earlier version writes and reads, so those keep agreeing on exclusive locks. An earlier
// version, which reads any "_c_…-lock-<sequence>" as an exclusive contender, therefore takes a
// shared or semaphore node for an exclusive one: during a rolling upgrade it waits for them rather
// than overlapping them. Curator's read-write lock names its read nodes __READ__ too.
const SHARED_MARKER = "-__READ__";
const SEMAPHORE_MARKER = /-__SEM([1-9]\d*)__$/;

const markerOf = (kind: NodeKind) =>
  kind.mode === "exclusive" ? "" : kind.mode === "shared" ? SHARED_MARKER : `-__SEM${kind.permits}__`;

/** The name a node of `kind` starts with: ZooKeeper appends the sequence number. */
export const nodePrefix = (guid: string, kind: NodeKind = EXCLUSIVE) =>
  `${PREFIX}${guid}${markerOf(kind)}${LOCK_MARKER}`;

/** The sequence number of a lock node name, or undefined for a child that is not a lock node. */
export function sequenceOf(name: string): number | undefined {
  if (!name.startsWith(PREFIX)) return undefined;
  const start = name.length - SEQUENCE_DIGITS;
  const marker = start - LOCK_MARKER.length;
  if (marker < PREFIX.length || name.lastIndexOf(LOCK_MARKER) !== marker) return undefined;
  // Every listing of every cycle reads each child's suffix: digit by digit, without a substring.
  let sequence = 0;
  for (let at = start; at < name.length; at++) {
    const digit = name.charCodeAt(at) - 48;
    if (digit < 0 || digit > 9) return undefined;
    sequence = sequence * 10 + digit;
  }
  return sequence;
}

/** What the lock node `name` (one `sortContenders` keeps) asks for. */
export function kindOf(name: string): NodeKind {
  const head = name.slice(0, name.lastIndexOf(LOCK_MARKER));
  if (head.endsWith(SHARED_MARKER)) return SHARED;
  const permits = SEMAPHORE_MARKER.exec(head)?.[1];
  return permits === undefined ? EXCLUSIVE : { mode: "semaphore", permits: Number(permits) };
}

/** Lock node names in the order ZooKeeper granted them, other children left out. */
export function sortContenders(children: readonly string[]): string[] {
  // An uncontended listing shows one node: nothing to sort.
  if (children.length === 1) return sequenceOf(children[0]!) === undefined ? [] : [children[0]!];
  const contenders: [string, number][] = [];
  for (const name of children) {
    const sequence = sequenceOf(name);
    if (sequence !== undefined) contenders.push([name, sequence]);
  }
  return contenders.sort((a, b) => a[1] - b[1]).map(([name]) => name);
}

/** What a lock node says about its owner, for operators. */
export interface OwnerInfo {
  host: string;
  pid: number;
  label?: string;
  /** When the node was created (ISO 8601). */
  since: string;
  /**
   * When the node's turn came, on a semaphore node granted while nodes queued behind it: the
   * write that sets it wakes the node behind (see `markGranted`).
   */
  granted?: string;
}

// Every acquire writes this; the part that never changes is serialised once.
const hostAndPid = `{"host":${JSON.stringify(hostname())},"pid":${process.pid}`;

/** The owner information of a lock node, as JSON (see {@link OwnerInfo}). */
export function ownerData(label: string | undefined): string {
  const labelled = label === undefined ? "" : `,"label":${JSON.stringify(label)}`;
  return `${hostAndPid}${labelled},"since":"${isoNow()}"}`;
}

// Date#toISOString() was 2 % of an uncontended cycle's CPU time: the part up to the seconds is
// formatted once a second, the milliseconds appended.
let second = Number.NaN;
let upToSeconds = "";

/** The current time in ISO 8601, as `Date#toISOString()` writes it. */
function isoNow(): string {
  const now = Date.now();
  const ms = now % 1000;
  if (now - ms !== second) {
    second = now - ms;
    upToSeconds = new Date(second).toISOString().slice(0, -4);
  }
  return `${upToSeconds}${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z`;
}

/** What a lock node says about its owner; undefined for data that is not ours (other tools). */
export function parseOwner(data: Buffer | string | null | undefined): OwnerInfo | undefined {
  try {
    const info = JSON.parse(String(data ?? ""));
    return typeof info === "object" && info !== null ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The owner data `data` with the time of the grant: a semaphore node granted while others queue
 * behind it writes it, since the node just behind may be watching it as a waiter.
 */
export function markGranted(data: string): string {
  return JSON.stringify({ ...parseOwner(data), granted: new Date().toISOString() });
}

/** Whether a node's data carries the mark of `markGranted`. */
export const isMarkedGranted = (data: Buffer | string | null | undefined): boolean =>
  parseOwner(data)?.granted !== undefined;
