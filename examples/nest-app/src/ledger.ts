import { setTimeout as sleep } from "node:timers/promises";

/**
 * An in-memory stand-in for a table of account balances. `update()` reads, waits (where an
 * unlocked concurrent update would be lost), then writes. The read raises the row's fence to the
 * token and the write applies only while the fence is still that token, as a real table would with
 * `UPDATE … SET fence = $token WHERE fence <= $token RETURNING balance` and `UPDATE … WHERE fence =
 * $token`: a fence on the write alone would let a stale holder write between a newer holder's read
 * and its write, and that update would be lost.
 *
 * @example
 * ```ts
 * await ledger.update("acc-1", token, (balance) => balance + 10);
 * ```
 */
export class Ledger {
  readonly #rows = new Map<string, { balance: number; fence: bigint }>();

  balance(id: string): number {
    return this.#rows.get(id)?.balance ?? 0;
  }

  async update(id: string, fence: bigint, change: (balance: number) => number): Promise<number> {
    const row = this.#rows.get(id) ?? { balance: 0, fence: 0n };
    if (fence < row.fence) throw stale(id, fence, row.fence);
    const before = { balance: row.balance, fence };
    this.#rows.set(id, before);
    await sleep(2);
    const current = this.#rows.get(id)?.fence ?? 0n;
    if (current !== fence) throw stale(id, fence, current);
    const balance = change(before.balance);
    this.#rows.set(id, { balance, fence });
    return balance;
  }
}

function stale(id: string, fence: bigint, newer: bigint): Error {
  return new Error(`Stale fence ${fence} for ${id}: a newer holder (fence ${newer}) has read it.`);
}
