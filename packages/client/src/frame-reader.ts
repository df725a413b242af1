// Splits the byte stream from a server into frames: a 4-byte big-endian length, then that many bytes.
import { ZooKeeperError } from "./errors.js";

/**
 * A frame longer than the reader's maximum, which it skips rather than buffers: its length and its
 * first bytes (a reply's header: xid, zxid and result code), delivered as soon as they are in.
 */
export class OversizedFrame {
  constructor(
    /** The length its prefix gave. */
    readonly length: number,
    /** Its first {@link OVERSIZED_HEAD_BYTES} bytes (all of it, were it shorter). */
    readonly head: Buffer,
  ) {}
}

/** How much of an oversized frame is kept: a reply header (xid 4, zxid 8, err 4). */
export const OVERSIZED_HEAD_BYTES = 16;

/** The oversized frame being skipped: its head so far, and how many of its bytes are yet to come. */
interface Skip {
  length: number;
  head: Buffer;
  headBytes: number;
  left: number;
}

/** What {@link FrameReader.push} delivers: whole frames, and the heads of skipped ones. */
export type Frame = Buffer | OversizedFrame;

/**
 * Reassembles frames from socket chunks. A negative length prefix is refused as soon as its four
 * bytes are in, and so is one above `maxFrameBytes` unless {@link skipsOversized}: then the frame's
 * head is delivered as an {@link OversizedFrame} and the rest of its bytes are dropped as they
 * arrive, never held. A frame's buffer is allocated once its length is known, so a slow sender
 * costs one copy, not a concatenation per chunk.
 */
export class FrameReader {
  /**
   * Whether a frame over the maximum is skipped (true) or ends the stream with `MARSHALLINGERROR`
   * (false, the default: until a session handshake is answered, a long frame means a stream that
   * is not ZooKeeper's).
   */
  skipsOversized = false;
  readonly #header = Buffer.alloc(4);
  #headerBytes = 0;
  #body: Buffer | undefined;
  #bodyBytes = 0;
  #skip: Skip | undefined;

  constructor(
    private readonly maxFrameBytes: number,
    /** Where the bytes come from, for error messages. */
    private readonly source: string,
  ) {}

  /** Whether a frame has begun but not ended: a close now cuts a frame short. */
  get midFrame(): boolean {
    return this.#headerBytes > 0 || this.#body !== undefined || this.#skip !== undefined;
  }

  /** A description of the partial frame, for the error of a connection closed in its middle. */
  describePartial(): string {
    if (this.#skip !== undefined) {
      const { length, left } = this.#skip;
      return `${length - left} of the ${length} bytes of a frame over maxPacketBytes, which was being skipped`;
    }
    return this.#body === undefined
      ? `${this.#headerBytes} of the 4 bytes of a length prefix`
      : `${this.#bodyBytes} of the ${this.#body.length} bytes of a frame`;
  }

  /** The frames `chunk` completes (or, oversized, begins), in order; throws `MARSHALLINGERROR` on a bad length. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#skip !== undefined) {
        offset = this.#skipSome(this.#skip, chunk, offset, frames);
        continue;
      }
      if (this.#body !== undefined) {
        const take = Math.min(this.#body.length - this.#bodyBytes, chunk.length - offset);
        chunk.copy(this.#body, this.#bodyBytes, offset, offset + take);
        this.#bodyBytes += take;
        offset += take;
        if (this.#bodyBytes === this.#body.length) {
          frames.push(this.#body);
          this.#body = undefined;
        }
        continue;
      }
      let length: number;
      if (this.#headerBytes === 0 && chunk.length - offset >= 4) {
        length = chunk.readInt32BE(offset);
        offset += 4;
      } else {
        const take = Math.min(4 - this.#headerBytes, chunk.length - offset);
        chunk.copy(this.#header, this.#headerBytes, offset, offset + take);
        this.#headerBytes += take;
        offset += take;
        if (this.#headerBytes < 4) continue;
        this.#headerBytes = 0;
        length = this.#header.readInt32BE(0);
      }
      this.#checkLength(length);
      if (length > this.maxFrameBytes) {
        const head = Buffer.alloc(Math.min(OVERSIZED_HEAD_BYTES, length));
        this.#skip = { length, head, headBytes: 0, left: length };
      } else if (chunk.length - offset >= length) {
        // The common case, a whole frame inside the chunk, costs no copy.
        frames.push(chunk.subarray(offset, offset + length));
        offset += length;
      } else {
        this.#body = Buffer.allocUnsafe(length);
        this.#bodyBytes = 0;
      }
    }
    return frames;
  }

  /** Takes what `chunk` holds of the oversized frame from `offset`: its head kept, the rest dropped. */
  #skipSome(skip: Skip, chunk: Buffer, offset: number, frames: Frame[]): number {
    const available = chunk.length - offset;
    let take: number;
    if (skip.headBytes < skip.head.length) {
      take = Math.min(skip.head.length - skip.headBytes, available);
      chunk.copy(skip.head, skip.headBytes, offset, offset + take);
      skip.headBytes += take;
      if (skip.headBytes === skip.head.length) frames.push(new OversizedFrame(skip.length, skip.head));
    } else {
      take = Math.min(skip.left, available);
    }
    skip.left -= take;
    if (skip.left === 0) this.#skip = undefined;
    return offset + take;
  }

  #checkLength(length: number): void {
    if (length < 0 || (length > this.maxFrameBytes && !this.skipsOversized)) {
      throw new ZooKeeperError(
        "MARSHALLINGERROR",
        `${this.source} sent a frame length of ${length} bytes, outside 0…${this.maxFrameBytes} (maxPacketBytes, ZooKeeper's jute.maxbuffer); the stream cannot be trusted.`,
      );
    }
  }
}
