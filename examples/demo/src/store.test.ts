import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CounterStore } from "./store.js";

describe("CounterStore", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "demo-store-"));
    file = join(dir, "counter.db");
    CounterStore.create(file);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("fenced: a read raises the fence, and a write applies only under the token that read last", () => {
    const store = CounterStore.open(file, { fenced: true });
    expect(store.read(10n)).toEqual({ granted: true, value: 0, fence: 10n });
    expect(store.write(1, 10n)).toEqual({ applied: true, before: { value: 0, fence: 10n } });
    // One hold may read and write again under its own token.
    expect(store.read(10n).granted).toBe(true);
    expect(store.write(2, 10n).applied).toBe(true);
    expect(store.read(20n)).toEqual({ granted: true, value: 2, fence: 20n });
    // A stale holder (lower token) is refused on its read and on its write.
    expect(store.read(15n)).toEqual({ granted: false, value: 2, fence: 20n });
    expect(store.write(5, 15n)).toEqual({ applied: false, before: { value: 2, fence: 20n } });
    expect(store.row()).toEqual({ value: 2, fence: 20n });
    store.close();
  });

  it("fenced: refuses a stale write between a newer holder's read and write, where a write-only fence would lose an update", () => {
    const store = CounterStore.open(file, { fenced: true });
    const stale = store.read(10n); // reads 0, then is paused past its session
    const next = store.read(20n); // the next holder reads 0 too
    // The stale holder wakes and writes first. Its token is above every token written so far (0),
    // which is all `WHERE fence < :token` would check: that fence would take this write, and the
    // next holder's write of 1 would then overwrite it.
    expect(store.write(stale.value + 1, 10n).applied).toBe(false);
    expect(store.write(next.value + 1, 20n).applied).toBe(true);
    expect(store.row()).toEqual({ value: 1, fence: 20n });
    store.close();
  });

  it("keeps tokens beyond 2^53 exact", () => {
    const store = CounterStore.open(file, { fenced: true });
    const big = 2n ** 62n + 1n;
    expect(store.read(big).granted).toBe(true);
    expect(store.write(1, big).applied).toBe(true);
    expect(store.read(big - 1n).granted).toBe(false);
    expect(store.write(2, big - 1n).applied).toBe(false);
    expect(store.row().fence).toBe(big);
    store.close();
  });

  it("unfenced: reads raise nothing and the last writer wins, whatever its token", () => {
    const store = CounterStore.open(file, { fenced: false });
    expect(store.read(20n)).toEqual({ granted: true, value: 0, fence: 0n });
    expect(store.write(7, 20n).applied).toBe(true);
    expect(store.read(10n)).toEqual({ granted: true, value: 7, fence: 20n });
    expect(store.write(3, 10n)).toEqual({ applied: true, before: { value: 7, fence: 20n } });
    expect(store.row().value).toBe(3);
    store.close();
  });
});
