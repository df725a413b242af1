// Just enough of ZooKeeper's wire protocol for the proxy to recognise requests and their replies.
// Every message is a frame: a 4-byte big-endian length, then the body. The first frame each way is
// the session handshake; after it, a request body starts with its header (xid, opcode) and usually
// a path, and a reply body starts with its header (xid, zxid, err), so a reply is matched to its
// request by xid. (org.apache.zookeeper.proto.RequestHeader / ReplyHeader, ZooDefs.OpCode.)

/** Kinds of request the proxy can pick out, by their opcodes (several for the variants of one kind). */
export const requestKinds = {
  create: [1, 15, 19, 21], // create, create2, createContainer, createTTL
  delete: [2, 20], // delete, deleteContainer
  exists: [3],
  getData: [4],
  setData: [5],
  getACL: [6],
  setACL: [7],
  getChildren: [8, 12], // getChildren, getChildren2
  sync: [9],
  check: [13],
  multi: [14, 22], // multi, multiRead
  getEphemerals: [103],
  getAllChildrenNumber: [104],
  addWatch: [106],
  closeSession: [-11],
} as const satisfies Record<string, readonly number[]>;

/** A kind of ZooKeeper request, as {@link requestKinds} names them. */
export type RequestKind = keyof typeof requestKinds;

/** Opcodes whose request body begins with a path (after the header). */
const pathFirst = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 15, 19, 20, 21, 103, 104, 106]);

/** What the proxy knows about one request. */
export interface RequestFrame {
  xid: number;
  opcode: number;
  /** The path the request names, when its kind has one (and it was within the first bytes seen). */
  path: string | undefined;
}

/** What the proxy knows about one reply. */
export interface ReplyFrame {
  xid: number;
  zxid: bigint;
  /** ZooKeeper's result code: 0 for success, -110 for "node exists", … */
  err: number;
  /** The path a successful create reply names (the created node, with its sequence suffix). */
  createdPath: string | undefined;
}

function readString(body: Buffer, offset: number): string | undefined {
  if (body.length < offset + 4) return undefined;
  const length = body.readInt32BE(offset);
  if (length < 0 || body.length < offset + 4 + length) return undefined;
  return body.toString("utf8", offset + 4, offset + 4 + length);
}

export function parseRequest(body: Buffer): RequestFrame | undefined {
  if (body.length < 8) return undefined;
  const opcode = body.readInt32BE(4);
  return { xid: body.readInt32BE(0), opcode, path: pathFirst.has(opcode) ? readString(body, 8) : undefined };
}

export function parseReply(body: Buffer, requestOpcode: number): ReplyFrame | undefined {
  if (body.length < 16) return undefined;
  const err = body.readInt32BE(12);
  const isCreate = (requestKinds.create as readonly number[]).includes(requestOpcode);
  return {
    xid: body.readInt32BE(0),
    zxid: body.readBigInt64BE(4),
    err,
    createdPath: isCreate && err === 0 ? readString(body, 16) : undefined,
  };
}

/** Longer frames than this are not ZooKeeper (its default jute.maxbuffer is 1 MB): stop looking. */
const maxFrame = 64 * 1024 * 1024;
/** How much of each body is kept for parsing: headers and paths, not data. */
const keptBytes = 1024;

/**
 * Follows frame boundaries in one direction of a connection without copying the stream: for each
 * frame it hands out the first bytes of the body and where the frame lies in the current chunk.
 * Only a body's beginning that straddles two chunks is copied.
 */
export class FrameScanner {
  /** Frames seen so far; frame 0 is the handshake. */
  frames = 0;
  /** Bytes of the current frame after its kept beginning, still to come. */
  #skip = 0;
  readonly #head: Buffer[] = [];
  #headBytes = 0;
  #broken = false;

  /**
   * Calls `onFrame(body, start, end)` for each frame whose kept beginning completes in `chunk`:
   * `body` is up to the first 1024 bytes of the body; `start` and `end` are the frame's offsets in
   * `chunk` (`start` is negative when the frame began in an earlier chunk, `end` is past the chunk's
   * end when it goes on in later ones). `onFrame` returns true to stop scanning this chunk.
   */
  scan(chunk: Buffer, onFrame: (body: Buffer, start: number, end: number) => boolean | undefined): void {
    let at = 0;
    while (at < chunk.length && !this.#broken) {
      if (this.#skip > 0) {
        const skipped = Math.min(this.#skip, chunk.length - at);
        this.#skip -= skipped;
        at += skipped;
        continue;
      }
      // Collecting the length prefix and the kept beginning of a frame.
      const startedBefore = this.#headBytes;
      const length = this.#peekLength(chunk, at);
      if (length === undefined) {
        this.#keep(chunk.subarray(at));
        return;
      }
      if (length < 0 || length > maxFrame) {
        this.#broken = true;
        return;
      }
      const wanted = 4 + Math.min(length, keptBytes);
      const fromChunk = wanted - startedBefore;
      if (chunk.length - at < fromChunk) {
        this.#keep(chunk.subarray(at));
        return;
      }
      const head =
        startedBefore === 0
          ? chunk.subarray(at, at + wanted)
          : Buffer.concat([...this.#head, chunk.subarray(at, at + fromChunk)]);
      this.#head.length = 0;
      this.#headBytes = 0;
      const start = at - startedBefore;
      const end = start + 4 + length;
      at += fromChunk;
      this.#skip = 4 + length - wanted;
      const frame = this.frames++;
      if (frame > 0 && onFrame(head.subarray(4), start, end)) return;
    }
  }

  #keep(part: Buffer): void {
    // Copied: the chunk it belongs to is handed on and may be reused.
    this.#head.push(Buffer.from(part));
    this.#headBytes += part.length;
  }

  #peekLength(chunk: Buffer, at: number): number | undefined {
    if (this.#headBytes === 0) return chunk.length - at >= 4 ? chunk.readInt32BE(at) : undefined;
    if (this.#headBytes + chunk.length - at < 4) return undefined;
    const prefix = Buffer.concat([...this.#head, chunk.subarray(at, at + 4)]);
    return prefix.readInt32BE(0);
  }
}
