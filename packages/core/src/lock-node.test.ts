import { describe, expect, it } from "vitest";
import { nodePrefix, ownerData, parseOwner, sequenceOf, sortContenders } from "./lock-node.js";

describe("lock node names", () => {
  it("orders contenders by sequence number, not by GUID, and skips foreign children", () => {
    const a = `${nodePrefix("ffff")}0000000012`;
    const b = `${nodePrefix("0000")}0000000013`;
    const c = `${nodePrefix("aaaa")}0000000002`;
    expect(sortContenders([a, "readme", b, c, "_c_x-lock-12"])).toEqual([c, a, b]);
  });

  it("reads the ten-digit suffix only", () => {
    expect(sequenceOf(`${nodePrefix("g")}0000000007`)).toBe(7);
    expect(sequenceOf(`${nodePrefix("g")}7`)).toBeUndefined();
    expect(sequenceOf("other-lock-0000000007")).toBeUndefined();
  });

  it("writes owner data that parses back, with or without a label", () => {
    expect(parseOwner(ownerData('nightly "job"'))).toMatchObject({
      pid: process.pid,
      label: 'nightly "job"',
    });
    const plain = parseOwner(ownerData(undefined));
    expect(plain).not.toHaveProperty("label");
    expect(Date.parse(plain!.since)).not.toBeNaN();
  });

  it("parses owner data, and reports nothing for data of other tools", () => {
    expect(parseOwner('{"host":"h","pid":1,"since":"2026-01-01T00:00:00.000Z"}')).toMatchObject({
      host: "h",
      pid: 1,
    });
    expect(parseOwner("10.0.0.1")).toBeUndefined();
    expect(parseOwner(null)).toBeUndefined();
  });
});
