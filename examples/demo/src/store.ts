import Database from "better-sqlite3";

/**
 * The fenced write: it applies only when the token is higher than the last one the store accepted,
 * so a holder whose lock has passed to someone else (and who wrote with a higher token) is refused.
 * One statement, so the check and the write cannot be separated. This is the line to copy.
 */
export const FENCED_UPDATE = "UPDATE counter SET value = ?, fence = ? WHERE id = 1 AND fence < ?";

/** The same write without the check: whoever writes last wins, even a holder that lost the lock. */
export const UNFENCED_UPDATE = "UPDATE counter SET value = ?, fence = ? WHERE id = 1";

/** What a write found and whether it took effect. */
export interface WriteResult {
  applied: boolean;
  /** The row as the write found it, just before it applied or was refused. */
  before: { value: number; fence: bigint };
}

/**
 * A one-row counter in SQLite that several processes share, written with a fencing token.
 *
 * @example
 * ```ts
 * CounterStore.create(file);
 * const store = CounterStore.open(file, { fenced: true });
 * const token = await lock.acquire();
 * const { value } = store.read();
 * const { applied } = store.write(value + 1, token); // false: a newer holder has written
 * ```
 */
export class CounterStore {
  readonly #db: Database.Database;
  readonly #read: Database.Statement<[], { value: bigint; fence: bigint }>;
  readonly #write: (value: number, token: bigint) => WriteResult;

  private constructor(file: string, fenced: boolean) {
    this.#db = new Database(file);
    // WAL lets readers and the single writer of each moment proceed together; the busy timeout
    // covers the rare moment two processes write at once (a zombie and the current holder).
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("busy_timeout = 5000");
    this.#read = this.#db
      .prepare<[], { value: bigint; fence: bigint }>("SELECT value, fence FROM counter WHERE id = 1")
      .safeIntegers();
    const update = this.#db.prepare(fenced ? FENCED_UPDATE : UNFENCED_UPDATE);
    // The read beside the update only tells the timeline what the write replaced or ran into; the
    // update alone decides, and the transaction keeps the two from seeing different rows.
    this.#write = this.#db.transaction((value: number, token: bigint): WriteResult => {
      const before = this.read();
      const { changes } = fenced ? update.run(value, token, token) : update.run(value, token);
      return { applied: changes === 1, before };
    }).immediate;
  }

  /** Creates the database file with its counter at 0 and no token accepted yet. */
  static create(file: string): void {
    const db = new Database(file);
    try {
      db.exec(`CREATE TABLE counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL, fence INTEGER NOT NULL);
               INSERT INTO counter (id, value, fence) VALUES (1, 0, 0);`);
    } finally {
      db.close();
    }
  }

  static open(file: string, options: { fenced: boolean }): CounterStore {
    return new CounterStore(file, options.fenced);
  }

  read(): { value: number; fence: bigint } {
    const row = this.#read.get();
    if (!row) throw new Error("The counter row is missing; was CounterStore.create() run on this file?");
    return { value: Number(row.value), fence: row.fence };
  }

  /** Sets the counter to `value` with `token`; `applied` is false when the store refused it. */
  write(value: number, token: bigint): WriteResult {
    return this.#write(value, token);
  }

  close(): void {
    this.#db.close();
  }
}
