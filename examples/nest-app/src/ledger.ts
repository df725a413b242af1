import { setTimeout as sleep } from "node:timers/promises";

/**
 * An in-memory stand-in for a table of account balances. `update()` reads, waits (where an
 * unlocked concurrent update would be lost), then writes, and refuses a write whose fencing token
 * is older than the last one written: the `WHERE fence <= $token` of a real table.
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
    const before = this.#rows.get(id) ?? { balance: 0, fence: 0n };
    await sleep(2);
    const latest = this.#rows.get(id) ?? before;
    if (fence < latest.fence) throw new Error(`Stale fence ${fence} for ${id}: ${latest.fence} wrote since.`);
    const balance = change(before.balance);
    this.#rows.set(id, { balance, fence });
    return balance;
  }
}
