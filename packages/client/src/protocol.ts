// The records of ZooKeeper's client protocol (zookeeper.jute) that this client sends and reads.
import { type JuteReader, JuteWriter } from "./jute.js";

/** Request types (ZooDefs.OpCode). */
export const OpCode = {
  /** Only in multi replies: a create whose result carries the path alone. */
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  removeWatches: 18,
  createContainer: 19,
  createTTL: 21,
  auth: 100,
  setWatches: 101,
  setWatches2: 105,
  addWatch: 106,
  closeSession: -11,
  /** In a multi reply: the operation failed (or was not tried). */
  error: -1,
} as const;

/** The xids the protocol reserves; requests use positive ones. */
export const Xid = { notification: -1, ping: -2, auth: -4, setWatches: -8 } as const;

/** A node's metadata. Every 64-bit field is a bigint, exact beyond 2^53. */
export interface Stat {
  /** The zxid of the change that created the node. */
  czxid: bigint;
  /** The zxid of the last change to its data. */
  mzxid: bigint;
  /** Creation time, in milliseconds since the epoch. */
  ctime: bigint;
  /** Last modification time, in milliseconds since the epoch. */
  mtime: bigint;
  /** Data version (changes to the data). */
  version: number;
  /** Children version (changes to the list of children). */
  cversion: number;
  /** ACL version. */
  aversion: number;
  /** The owning session's id for an ephemeral node, else 0n. */
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  /** The zxid of the last change to its children. */
  pzxid: bigint;
}

export function readStat(reader: JuteReader): Stat {
  return {
    czxid: reader.long("stat.czxid"),
    mzxid: reader.long("stat.mzxid"),
    ctime: reader.long("stat.ctime"),
    mtime: reader.long("stat.mtime"),
    version: reader.int("stat.version"),
    cversion: reader.int("stat.cversion"),
    aversion: reader.int("stat.aversion"),
    ephemeralOwner: reader.long("stat.ephemeralOwner"),
    dataLength: reader.int("stat.dataLength"),
    numChildren: reader.int("stat.numChildren"),
    pzxid: reader.long("stat.pzxid"),
  };
}

/** An access control entry: who (`scheme` and `id`) may do what (`perms`, a mask of {@link Perms}). */
export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

export function writeAcls(writer: JuteWriter, acls: readonly Acl[]): void {
  writer.int(acls.length);
  for (const acl of acls) writer.int(acl.perms).string(acl.scheme).string(acl.id);
}

export function readAcls(reader: JuteReader): Acl[] {
  // perms, and the lengths of scheme and id: at least 12 bytes an entry.
  return reader.vector("acl", 12, (r) => ({
    perms: r.int("acl.perms"),
    scheme: r.string("acl.scheme"),
    id: r.string("acl.id"),
  }));
}

/** The strings of a vector<ustring>: at least a 4-byte length each. */
export function readStrings(reader: JuteReader, field: string): string[] {
  return reader.vector(field, 4, (r) => r.string(field));
}

/** The first frame a client sends: ConnectRequest. */
export interface ConnectRequest {
  lastZxidSeen: bigint;
  timeout: number;
  sessionId: bigint;
  password: Uint8Array;
}

export function encodeConnectRequest(request: ConnectRequest): Buffer {
  const writer = new JuteWriter(64).int(0); // length, patched below
  writer
    .int(0) // protocolVersion
    .long(request.lastZxidSeen)
    .int(request.timeout)
    .long(request.sessionId)
    .buffer(request.password)
    .bool(false); // readOnly: this client does not ask for read-only mode
  return patchLength(writer.bytes());
}

/** The server's answer to it: ConnectResponse. A timeout of 0 or less means the session expired. */
export interface ConnectResponse {
  protocolVersion: number;
  timeout: number;
  sessionId: bigint;
  password: Buffer;
  readOnly: boolean;
}

export function readConnectResponse(reader: JuteReader): ConnectResponse {
  return {
    protocolVersion: reader.int("protocolVersion"),
    timeout: reader.int("timeOut"),
    sessionId: reader.long("sessionId"),
    password: Buffer.from(reader.buffer("passwd")),
    // Servers before 3.4 end the record here.
    readOnly: reader.remaining > 0 ? reader.bool("readOnly") : false,
  };
}

/** A request frame: length, xid (patched when it is sent), type, then the body `write` appends. */
export function encodeRequest(type: number, write?: (writer: JuteWriter) => void, xid = 0): Buffer {
  const writer = new JuteWriter().int(0).int(xid).int(type);
  write?.(writer);
  return patchLength(writer.bytes());
}

/** Sets a frame's xid, just before it is written to a connection. */
export function setXid(frame: Buffer, xid: number): void {
  frame.writeInt32BE(xid, 4);
}

function patchLength(frame: Buffer): Buffer {
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** A watch notification (WatcherEvent) as the server sends it. */
export interface WatcherEventRecord {
  type: number;
  state: number;
  path: string;
}

export function readWatcherEvent(reader: JuteReader): WatcherEventRecord {
  return {
    type: reader.int("event.type"),
    state: reader.int("event.state"),
    path: reader.string("event.path"),
  };
}
