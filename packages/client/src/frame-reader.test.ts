import { describe, expect, it } from "vitest";
import { isZooKeeperError } from "./errors.js";
import { type Frame, FrameReader, OversizedFrame } from "./frame-reader.js";

const frame = (body: number[]) => {
  const bytes = Buffer.alloc(4 + body.length);
  bytes.writeInt32BE(body.length, 0);
  Buffer.from(body).copy(bytes, 4);
  return bytes;
};

describe("FrameReader", () => {
  it("splits frames however the chunks fall", () => {
    const stream = Buffer.concat([frame([1, 2, 3]), frame([]), frame([4]), frame([5, 6, 7, 8, 9])]);
    for (let size = 1; size <= stream.length; size++) {
      const reader = new FrameReader(100, "test");
      const frames: number[][] = [];
      for (let at = 0; at < stream.length; at += size) {
        for (const f of reader.push(stream.subarray(at, at + size))) frames.push([...(f as Buffer)]);
      }
      expect(frames).toEqual([[1, 2, 3], [], [4], [5, 6, 7, 8, 9]]);
      expect(reader.midFrame).toBe(false);
    }
  });

  it("knows when a close cuts a frame short", () => {
    const reader = new FrameReader(100, "test");
    expect(reader.push(frame([1, 2, 3, 4]).subarray(0, 6))).toEqual([]);
    expect(reader.midFrame).toBe(true);
    expect(reader.describePartial()).toBe("2 of the 4 bytes of a frame");
    const header = new FrameReader(100, "test");
    header.push(Buffer.from([0, 0]));
    expect(header.describePartial()).toBe("2 of the 4 bytes of a length prefix");
  });

  it("skips a frame over the maximum once told to, delivering its head in order with the other frames", () => {
    const head = Array.from({ length: 16 }, (_, i) => i + 1);
    const oversized = frame([...head, ...new Array<number>(184).fill(0xee)]);
    const stream = Buffer.concat([frame([1, 2]), oversized, frame([3]), oversized, frame([])]);
    for (let size = 1; size <= stream.length; size++) {
      const reader = new FrameReader(100, "test");
      reader.skipsOversized = true;
      const frames: Frame[] = [];
      for (let at = 0; at < stream.length; at += size)
        frames.push(...reader.push(stream.subarray(at, at + size)));
      const shown = frames.map((f) =>
        f instanceof OversizedFrame ? { length: f.length, head: [...f.head] } : [...f],
      );
      expect(shown).toEqual([[1, 2], { length: 200, head }, [3], { length: 200, head }, []]);
      expect(reader.midFrame).toBe(false);
    }
  });

  it("delivers an oversized frame's head before the rest of it is in, and knows a close cuts it short", () => {
    const reader = new FrameReader(100, "test");
    reader.skipsOversized = true;
    const oversized = frame(new Array<number>(1000).fill(7));
    const [first, ...rest] = reader.push(oversized.subarray(0, 4 + 16 + 10));
    expect(rest).toEqual([]);
    expect(first).toBeInstanceOf(OversizedFrame);
    expect((first as OversizedFrame).head.length).toBe(16);
    expect(reader.push(oversized.subarray(30, 500))).toEqual([]);
    expect(reader.midFrame).toBe(true);
    expect(reader.describePartial()).toBe(
      "496 of the 1000 bytes of a frame over maxPacketBytes, which was being skipped",
    );
    expect(reader.push(oversized.subarray(500))).toEqual([]);
    expect(reader.midFrame).toBe(false);
  });

  it("refuses a length above the maximum or below zero as soon as the prefix is in", () => {
    for (const length of [101, 0x7fffffff, -1]) {
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(length, 0);
      const reader = new FrameReader(100, "The server 127.0.0.1:2181");
      let error: unknown;
      try {
        // Only the prefix: a reader that waited for the body, or allocated it, would not throw here.
        reader.push(prefix);
      } catch (caught) {
        error = caught;
      }
      expect(isZooKeeperError(error, "MARSHALLINGERROR")).toBe(true);
      expect((error as Error).message).toBe(
        `The server 127.0.0.1:2181 sent a frame length of ${length} bytes, outside 0…100 (maxPacketBytes, ZooKeeper's jute.maxbuffer); the stream cannot be trusted.`,
      );
    }
  });

  it("refuses a length below zero even when it skips long frames", () => {
    const reader = new FrameReader(100, "test");
    reader.skipsOversized = true;
    expect(() => reader.push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(/frame length of -1 bytes/);
  });
});
