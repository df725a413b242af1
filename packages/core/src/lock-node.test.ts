import { describe, expect, it } from "vitest";
import {
  isMarkedGranted,
  kindOf,
  markGranted,
  nodePrefix,
  ownerData,
  parseOwner,
  SHARED,
  sequenceOf,
  sortContenders,
} from "./lock-node.js";

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

  it("keeps the exclusive name of every earlier version, and names the other modes before -lock-", () => {
    const guid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427";
    expect(nodePrefix(guid)).toBe(`_c_${guid}-lock-`);
    expect(nodePrefix(guid, SHARED)).toBe(`_c_${guid}-__READ__-lock-`);
    expect(nodePrefix(guid, { mode: "semaphore", permits: 12 })).toBe(`_c_${guid}-__SEM12__-lock-`);
    // An earlier version's reading of a name (the last "-lock-" and ten digits) still orders them.
    for (const kind of [undefined, SHARED, { mode: "semaphore", permits: 3 } as const]) {
      expect(sequenceOf(`${nodePrefix(guid, kind)}0000000042`)).toBe(42);
    }
  });

  it("tells each node's mode, and a semaphore node's permits, from its name alone", () => {
    const name = (prefix: string) => `${prefix}0000000001`;
    expect(kindOf(name(nodePrefix("a-b")))).toEqual({ mode: "exclusive" });
    expect(kindOf(name(nodePrefix("a-b", SHARED)))).toEqual({ mode: "shared" });
    expect(kindOf(name(nodePrefix("a-b", { mode: "semaphore", permits: 7 })))).toEqual({
      mode: "semaphore",
      permits: 7,
    });
    // Curator's read-write lock nodes and other tools' lock nodes count as exclusive contenders.
    expect(kindOf("_c_x-__READ__0000000001-lock-0000000002")).toEqual({ mode: "exclusive" });
    expect(kindOf("_c_x-__SEM0__-lock-0000000002")).toEqual({ mode: "exclusive" });
  });

  it("marks a granted node's data and keeps what it says of its owner", () => {
    const data = ownerData("job");
    expect(isMarkedGranted(data)).toBe(false);
    const marked = markGranted(data);
    expect(isMarkedGranted(marked)).toBe(true);
    expect(parseOwner(marked)).toMatchObject({ ...parseOwner(data), granted: expect.any(String) });
    expect(isMarkedGranted("not json")).toBe(false);
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
