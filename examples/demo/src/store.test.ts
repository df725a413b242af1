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

  it("fenced: applies only tokens above the last accepted one, and reports what it ran into", () => {
    const store = CounterStore.open(file, { fenced: true });
    expect(store.write(1, 10n)).toEqual({ applied: true, before: { value: 0, fence: 0n } });
    expect(store.write(2, 20n)).toEqual({ applied: true, before: { value: 1, fence: 10n } });
    // A stale holder (lower token) and a second write under the same token are both refused.
    expect(store.write(5, 15n)).toEqual({ applied: false, before: { value: 2, fence: 20n } });
    expect(store.write(5, 20n).applied).toBe(false);
    expect(store.read()).toEqual({ value: 2, fence: 20n });
    store.close();
  });

  it("keeps tokens beyond 2^53 exact", () => {
    const store = CounterStore.open(file, { fenced: true });
    const big = 2n ** 62n + 1n;
    expect(store.write(1, big).applied).toBe(true);
    expect(store.write(2, big - 1n).applied).toBe(false);
    expect(store.read().fence).toBe(big);
    store.close();
  });

  it("unfenced: the last writer wins, whatever its token", () => {
    const store = CounterStore.open(file, { fenced: false });
    expect(store.write(7, 20n).applied).toBe(true);
    expect(store.write(3, 10n)).toEqual({ applied: true, before: { value: 7, fence: 20n } });
    expect(store.read().value).toBe(3);
    store.close();
  });
});
