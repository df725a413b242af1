import { setTimeout as sleep } from "node:timers/promises";

/** A write refused because a newer lock holder has written since: the writer lost its lock. */
export class StaleFenceError extends Error {
  override name = "StaleFenceError";
}

/**
 * An in-memory stand-in for a database table of account balances. Each update reads, waits (the
 * window in which an unlocked concurrent update would be lost) and writes, and refuses a write
 * whose fencing token is older than the last one: the `WHERE fence <= $token` of a real table.
 *
 * @example
 * ```ts
 * await ledger.update("acc-1", token, (balance) => balance + 10, signal);
 * ```
 */
export class Ledger {
  readonly #rows = new Map<string, { balance: number; fence: bigint }>();

  balance(id: string): number {
    return this.#rows.get(id)?.balance ?? 0;
  }

  async update(id: string, fence: bigint, change: (balance: number) => number, signal?: AbortSignal) {
    const before = this.#rows.get(id) ?? { balance: 0, fence: 0n };
    await sleep(5, undefined, { signal });
    const current = this.#rows.get(id) ?? before;
    if (fence < current.fence) {
      throw new StaleFenceError(
        `Refused a write to ${id} with fence ${fence}; ${current.fence} wrote since.`,
      );
    }
    const balance = change(before.balance);
    this.#rows.set(id, { balance, fence });
    return balance;
  }
}
