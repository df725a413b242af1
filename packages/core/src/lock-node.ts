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
  const marker = name.lastIndexOf(LOCK_MARKER);
  const digits = name.slice(marker + LOCK_MARKER.length);
  if (marker < 0 || digits.length !== SEQUENCE_DIGITS || !/^\d+$/.test(digits)) return undefined;
  return Number(digits);
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
  return `${hostAndPid}${labelled},"since":"${new Date().toISOString()}"}`;
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
