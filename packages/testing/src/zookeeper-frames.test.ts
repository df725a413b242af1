import { describe, expect, it } from "vitest";
import { FrameScanner, parseReply, parseRequest } from "./zookeeper-frames.js";

const framed = (body: Buffer) => {
  const out = Buffer.alloc(4 + body.length);
  out.writeInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
};
const string = (text: string) => {
  const out = Buffer.alloc(4 + Buffer.byteLength(text));
  out.writeInt32BE(Buffer.byteLength(text), 0);
  out.write(text, 4);
  return out;
};
const int = (value: number) => {
  const out = Buffer.alloc(4);
  out.writeInt32BE(value, 0);
  return out;
};
const request = (xid: number, opcode: number, path: string, data = Buffer.alloc(0)) =>
  framed(Buffer.concat([int(xid), int(opcode), string(path), data]));

describe("FrameScanner", () => {
  const handshake = framed(Buffer.alloc(44, 7));
  const stream = Buffer.concat([
    handshake,
    request(1, 1, "/a/_c_1-lock-", Buffer.alloc(3000, 1)), // longer than the kept 1024 bytes
    request(2, 12, "/a"),
    request(-2, 11, ""),
  ]);

  it("finds every frame after the handshake, wherever the stream is split", () => {
    for (let split = 1; split < stream.length; split += 7) {
      const scanner = new FrameScanner();
      const seen: { xid: number; opcode: number; path?: string; start: number; end: number }[] = [];
      let offset = 0;
      for (const chunk of [stream.subarray(0, split), stream.subarray(split)]) {
        scanner.scan(chunk, (body, start, end) => {
          const parsed = parseRequest(body)!;
          seen.push({ ...parsed, start: start + offset, end: end + offset });
          return false;
        });
        offset += chunk.length;
      }
      expect(
        seen.map(({ xid, opcode, path }) => ({ xid, opcode, path })),
        `split at ${split}`,
      ).toEqual([
        { xid: 1, opcode: 1, path: "/a/_c_1-lock-" },
        { xid: 2, opcode: 12, path: "/a" },
        { xid: -2, opcode: 11, path: undefined },
      ]);
      // Offsets locate each frame in the stream exactly.
      expect(seen[0]!.start).toBe(handshake.length);
      expect(seen[1]!.start).toBe(seen[0]!.end);
      expect(seen[2]!.end).toBe(stream.length);
    }
  });

  it("gives up on a stream that is not ZooKeeper's framing (a four-letter command)", () => {
    const scanner = new FrameScanner();
    const calls: number[] = [];
    scanner.scan(Buffer.from("ruok"), () => {
      calls.push(1);
      return false;
    });
    scanner.scan(Buffer.from("more bytes that mean nothing"), () => {
      calls.push(2);
      return false;
    });
    expect(calls).toEqual([]);
  });
});

describe("parseReply", () => {
  it("reads the header and, for a create, the created path", () => {
    const zxid = Buffer.alloc(8);
    zxid.writeBigInt64BE(0x1_0000_002an, 0);
    const body = Buffer.concat([int(5), zxid, int(0), string("/a/_c_1-lock-0000000007")]);
    expect(parseReply(body, 1)).toEqual({
      xid: 5,
      zxid: 0x1_0000_002an,
      err: 0,
      createdPath: "/a/_c_1-lock-0000000007",
    });
    expect(parseReply(Buffer.concat([int(5), zxid, int(-110)]), 1)?.createdPath).toBeUndefined();
    expect(parseReply(body, 4)?.createdPath).toBeUndefined();
  });
});
