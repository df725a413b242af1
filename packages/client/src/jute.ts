// Jute, ZooKeeper's binary record format: big-endian ints and longs, one-byte booleans, and
// length-prefixed buffers, strings and vectors where a length of -1 means null.
import { ZooKeeperError } from "./errors.js";

const INITIAL_CAPACITY = 256;

/** Appends jute fields to a growing buffer. */
export class JuteWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(capacity = INITIAL_CAPACITY) {
    this.#buffer = Buffer.allocUnsafe(capacity);
  }

  get length(): number {
    return this.#length;
  }

  int(value: number): this {
    this.#reserve(4);
    this.#buffer.writeInt32BE(value, this.#length);
    this.#length += 4;
    return this;
  }

  long(value: bigint): this {
    this.#reserve(8);
    this.#buffer.writeBigInt64BE(value, this.#length);
    this.#length += 8;
    return this;
  }

  bool(value: boolean): this {
    this.#reserve(1);
    this.#buffer[this.#length++] = value ? 1 : 0;
    return this;
  }

  buffer(value: Uint8Array): this {
    this.int(value.length);
    this.#reserve(value.length);
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
    return this;
  }

  string(value: string): this {
    const bytes = Buffer.byteLength(value, "utf8");
    this.int(bytes);
    this.#reserve(bytes);
    this.#buffer.write(value, this.#length, "utf8");
    this.#length += bytes;
    return this;
  }

  strings(values: readonly string[]): this {
    this.int(values.length);
    for (const value of values) this.string(value);
    return this;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Buffer {
    return this.#buffer.subarray(0, this.#length);
  }

  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + bytes));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

/**
 * Reads jute fields from one received frame. Every read checks the bytes it needs against what
 * the frame holds, and every length against the bytes left, before it allocates anything: a
 * malformed frame fails with a `MARSHALLINGERROR` naming what was being read, never with a
 * RangeError or an allocation the frame cannot back.
 */
export class JuteReader {
  #offset = 0;

  constructor(
    private readonly frame: Buffer,
    /** What the frame is, for error messages ("the reply to getData"). */
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.frame.length - this.#offset;
  }

  int(field: string): number {
    this.#need(4, field);
    const value = this.frame.readInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  long(field: string): bigint {
    this.#need(8, field);
    const value = this.frame.readBigInt64BE(this.#offset);
    this.#offset += 8;
    return value;
  }

  bool(field: string): boolean {
    this.#need(1, field);
    return this.frame[this.#offset++] !== 0;
  }

  /** A buffer; null (length -1) reads as an empty buffer. A view into the frame, not a copy. */
  buffer(field: string): Buffer {
    const length = this.#length(field, 1);
    const value = this.frame.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  /** A string; null (length -1) reads as "". */
  string(field: string): string {
    const length = this.#length(field, 1);
    const value = this.frame.toString("utf8", this.#offset, this.#offset + length);
    this.#offset += length;
    return value;
  }

  /**
   * A vector whose elements take at least `minElementBytes` each, so that a count the frame
   * cannot hold fails before an array of that size is made. Null (count -1) reads as [].
   */
  vector<T>(field: string, minElementBytes: number, element: (reader: this) => T): T[] {
    const count = this.#length(field, minElementBytes);
    const values: T[] = [];
    for (let i = 0; i < count; i++) values.push(element(this));
    return values;
  }

  /** A length or count: -1 (null) is 0; anything else must fit in the bytes that are left. */
  #length(field: string, minElementBytes: number): number {
    const length = this.int(field);
    if (length === -1) return 0;
    if (length < 0 || length * minElementBytes > this.remaining) {
      throw this.malformed(
        `${field} claims ${length} ${minElementBytes === 1 ? "bytes" : "elements"} but only ${this.remaining} bytes follow`,
      );
    }
    return length;
  }

  #need(bytes: number, field: string): void {
    if (this.remaining < bytes) {
      throw this.malformed(`truncated at ${field}: needed ${bytes} bytes at offset ${this.#offset}`);
    }
  }

  /** A decoding error about this frame. */
  malformed(problem: string): ZooKeeperError {
    return new ZooKeeperError(
      "MARSHALLINGERROR",
      `Malformed ${this.what} (${this.frame.length} bytes): ${problem}.`,
    );
  }
}
