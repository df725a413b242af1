// Splits the byte stream from a server into frames: a 4-byte big-endian length, then that many bytes.
import { ZooKeeperError } from "./errors.js";

/**
 * Reassembles frames from socket chunks. A length prefix outside 0…`maxFrameBytes` is refused as
 * soon as its four bytes are in, before anything is allocated for it; a frame's buffer is allocated
 * once its length is known, so a slow sender costs one copy, not a concatenation per chunk.
 */
export class FrameReader {
  readonly #header = Buffer.alloc(4);
  #headerBytes = 0;
  #body: Buffer | undefined;
  #bodyBytes = 0;

  constructor(
    private readonly maxFrameBytes: number,
    /** Where the bytes come from, for error messages. */
    private readonly source: string,
  ) {}

  /** Whether a frame has begun but not ended: a close now cuts a frame short. */
  get midFrame(): boolean {
    return this.#headerBytes > 0 || this.#body !== undefined;
  }

  /** A description of the partial frame, for the error of a connection closed in its middle. */
  describePartial(): string {
    return this.#body === undefined
      ? `${this.#headerBytes} of the 4 bytes of a length prefix`
      : `${this.#bodyBytes} of the ${this.#body.length} bytes of a frame`;
  }

  /** The whole frames `chunk` completes, in order; throws `MARSHALLINGERROR` on a bad length. */
  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#body === undefined) {
        // The common case, a whole frame inside the chunk, costs no copy.
        if (this.#headerBytes === 0 && chunk.length - offset >= 4) {
          const length = this.#checkLength(chunk.readInt32BE(offset));
          if (chunk.length - offset - 4 >= length) {
            frames.push(chunk.subarray(offset + 4, offset + 4 + length));
            offset += 4 + length;
            continue;
          }
          this.#startBody(length);
          offset += 4;
          continue;
        }
        const take = Math.min(4 - this.#headerBytes, chunk.length - offset);
        chunk.copy(this.#header, this.#headerBytes, offset, offset + take);
        this.#headerBytes += take;
        offset += take;
        if (this.#headerBytes === 4) {
          this.#headerBytes = 0;
          const length = this.#checkLength(this.#header.readInt32BE(0));
          if (length === 0) frames.push(Buffer.alloc(0));
          else this.#startBody(length);
        }
        continue;
      }
      const take = Math.min(this.#body.length - this.#bodyBytes, chunk.length - offset);
      chunk.copy(this.#body, this.#bodyBytes, offset, offset + take);
      this.#bodyBytes += take;
      offset += take;
      if (this.#bodyBytes === this.#body.length) {
        frames.push(this.#body);
        this.#body = undefined;
      }
    }
    return frames;
  }

  #startBody(length: number): void {
    this.#body = Buffer.allocUnsafe(length);
    this.#bodyBytes = 0;
  }

  #checkLength(length: number): number {
    if (length < 0 || length > this.maxFrameBytes) {
      throw new ZooKeeperError(
        "MARSHALLINGERROR",
        `${this.source} sent a frame length of ${length} bytes, outside 0…${this.maxFrameBytes} (maxPacketBytes, ZooKeeper's jute.maxbuffer); the stream cannot be trusted.`,
      );
    }
    return length;
  }
}
