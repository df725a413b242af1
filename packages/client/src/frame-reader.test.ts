import { describe, expect, it } from "vitest";
import { isZooKeeperError } from "./errors.js";
import { FrameReader } from "./frame-reader.js";

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
        for (const f of reader.push(stream.subarray(at, at + size))) frames.push([...f]);
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
});
