import { describe, expect, it } from "vitest";
import { isZooKeeperError } from "./errors.js";
import { JuteReader, JuteWriter } from "./jute.js";

const malformed = (read: () => unknown) => {
  try {
    read();
  } catch (error) {
    expect(isZooKeeperError(error, "MARSHALLINGERROR")).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected a MARSHALLINGERROR");
};

describe("jute", () => {
  it("round-trips every field type, 64-bit values exactly", () => {
    const big = 2n ** 62n + 12_345n; // beyond 2^53: a JS number would round it
    const bytes = new JuteWriter(1)
      .int(-7)
      .long(big)
      .long(-1n)
      .bool(true)
      .buffer(Buffer.from([1, 2, 3]))
      .string("päth/✓")
      .strings(["a", "", "ß"])
      .bytes();
    const reader = new JuteReader(Buffer.from(bytes), "test frame");
    expect(reader.int("i")).toBe(-7);
    expect(reader.long("l")).toBe(big);
    expect(reader.long("l")).toBe(-1n);
    expect(reader.bool("b")).toBe(true);
    expect([...reader.buffer("buf")]).toEqual([1, 2, 3]);
    expect(reader.string("s")).toBe("päth/✓");
    expect(reader.vector("v", 4, (r) => r.string("e"))).toEqual(["a", "", "ß"]);
    expect(reader.remaining).toBe(0);
  });

  it("reads a null buffer, string or vector (length -1) as empty", () => {
    const frame = new JuteWriter().int(-1).int(-1).int(-1).bytes();
    const reader = new JuteReader(Buffer.from(frame), "test frame");
    expect(reader.buffer("b").length).toBe(0);
    expect(reader.string("s")).toBe("");
    expect(reader.vector("v", 4, (r) => r.string("e"))).toEqual([]);
  });

  it("refuses truncated fields with the field and offset named", () => {
    const message = malformed(() =>
      new JuteReader(Buffer.from([0, 0, 0, 1, 0, 0]), "reply to getData /a").long("stat.czxid"),
    );
    expect(message).toBe(
      "Malformed reply to getData /a (6 bytes): truncated at stat.czxid: needed 8 bytes at offset 0.",
    );
  });

  it("refuses lengths and counts the frame cannot hold, before allocating for them", () => {
    const huge = new JuteWriter().int(0x7fffffff).bytes();
    expect(malformed(() => new JuteReader(Buffer.from(huge), "f").buffer("data"))).toContain(
      "data claims 2147483647 bytes but only 0 bytes follow",
    );
    expect(
      malformed(() => new JuteReader(Buffer.from(huge), "f").vector("children", 4, (r) => r.string("c"))),
    ).toContain("children claims 2147483647 elements");
    const negative = new JuteWriter().int(-2).bytes();
    expect(malformed(() => new JuteReader(Buffer.from(negative), "f").string("path"))).toContain(
      "claims -2 bytes",
    );
    // 3 elements of at least 4 bytes cannot fit in 8 bytes.
    const short = new JuteWriter().int(3).int(0).int(0).bytes();
    expect(
      malformed(() => new JuteReader(Buffer.from(short), "f").vector("v", 4, (r) => r.string("e"))),
    ).toContain("v claims 3 elements but only 8 bytes follow");
  });
});
