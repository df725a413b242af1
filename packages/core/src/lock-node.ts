import { hostname } from "node:os";

// Curator's naming: a per-attempt GUID identifies our node after a lost create reply, and the
// ten-digit suffix ZooKeeper appends orders the contenders.
const PREFIX = "_c_";
const LOCK_MARKER = "-lock-";
const SEQUENCE_DIGITS = 10;

export const nodePrefix = (guid: string) => `${PREFIX}${guid}${LOCK_MARKER}`;

/** The sequence number of a lock node name, or undefined for a child that is not a lock node. */
export function sequenceOf(name: string): number | undefined {
  if (!name.startsWith(PREFIX)) return undefined;
  const marker = name.lastIndexOf(LOCK_MARKER);
  const digits = name.slice(marker + LOCK_MARKER.length);
  if (marker < 0 || digits.length !== SEQUENCE_DIGITS || !/^\d+$/.test(digits)) return undefined;
  return Number(digits);
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
