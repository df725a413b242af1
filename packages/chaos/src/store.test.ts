import { describe, expect, it } from "vitest";
import { FencedStore } from "./store.js";

describe("FencedStore", () => {
  it("refuses a zombie's write after a newer holder read, where a write-only fence would lose an update", () => {
    const store = new FencedStore(["r"]);
    const zombie = store.claim("r", 10n, 1); // reads 0, then freezes
    const next = store.claim("r", 20n, 2); // the next holder reads 0 too
    expect(zombie).toEqual({ granted: true, value: 0, shadow: 0 });
    expect(next.granted).toBe(true);
    // The zombie wakes and writes first: its token is above the last *written* one (0), which is
    // all a write-only fence would check, so that fence would take it and then lose it.
    expect(store.write("r", 10n, zombie.value + 1, zombie.shadow + 1, 3)).toEqual({ applied: false });
    expect(store.write("r", 20n, next.value + 1, next.shadow + 1, 4)).toEqual({ applied: true });
    const row = store.rows.get("r")!;
    expect(row).toMatchObject({ value: 1, applied: 1, refusedWrites: 1, claims: 2 });
    // The unfenced shadow took both writes of 1: one increment lost.
    expect(row).toMatchObject({ shadow: 1, shadowWrites: 2 });
    expect(store.violations).toEqual([]);
  });

  it("refuses a stale read, and reports a token given twice and an overwritten update", () => {
    const seen: string[] = [];
    const store = new FencedStore(["r"], (violation) => seen.push(violation.message));
    store.claim("r", 20n, 1);
    expect(store.claim("r", 10n, 2).granted).toBe(false);
    expect(store.rows.get("r")!.refusedClaims).toBe(1);
    store.claim("r", 20n, 3);
    expect(store.write("r", 20n, 5, 5, 4).applied).toBe(true);
    expect(seen).toEqual([
      "token 20 claimed the row a second time",
      "token 20 wrote 5 over 0: an update was lost",
    ]);
  });
});
