import Database from "better-sqlite3";

// Why the read is fenced too. A read-modify-write under a write-only fence (`UPDATE … WHERE fence <
// :token`) can still lose an update: the frozen holder (token 5) read, the next holder (token 6)
// reads the same value, the frozen one wakes and writes first (5 is above every token written so
// far, so that fence takes it), and the next holder writes over it with the value it read before.
// The rule: a write under a token applies only if no newer token has read or written the row since
// that token read it. So the read raises the fence to its token, and the write applies only while
// the fence is still that token.

/**
 * The fenced read: it raises the row's fence to the token as it reads, in one statement, and
 * returns no row once a newer token has raised it. From this read on, no older holder can write.
 * `<=`, because one hold may read again under its own token.
 */
export const FENCED_READ = "UPDATE counter SET fence = ? WHERE id = 1 AND fence <= ? RETURNING value";

/**
 * The fenced write: it applies only while the fence is still the token that read, so a holder
 * whose lock has passed to someone else (who has read, and may write, with a higher token) is
 * refused. This statement and {@link FENCED_READ} are the lines to copy.
 */
export const FENCED_WRITE = "UPDATE counter SET value = ? WHERE id = 1 AND fence = ?";

/** The read without the fence, which raises nothing (also how the timeline looks at the row). */
export const UNFENCED_READ = "SELECT value, fence FROM counter WHERE id = 1";

/** The write without the check: whoever writes last wins, even a holder that lost the lock. */
export const UNFENCED_WRITE = "UPDATE counter SET value = ?, fence = ? WHERE id = 1";

/** The row: the counter and the highest token that read or wrote it. */
export interface Row {
  value: number;
  fence: bigint;
}

/** What a holder's read found; `granted` is false when a newer token had raised the fence. */
export interface ReadResult extends Row {
  granted: boolean;
}

/** What a write found and whether it took effect. */
export interface WriteResult {
  applied: boolean;
  /** The row as the write found it, just before it applied or was refused. */
  before: Row;
}

/**
 * A one-row counter in SQLite that several processes share, read and written with a fencing token.
 *
 * @example
 * ```ts
 * CounterStore.create(file);
 * const store = CounterStore.open(file, { fenced: true });
 * const token = await lock.acquire();
 * const { granted, value } = store.read(token); // false: a newer holder has read
 * const { applied } = store.write(value + 1, token); // false: a newer holder has read since
 * ```
 */
export class CounterStore {
  readonly #db: Database.Database;
  readonly #row: Database.Statement<[], { value: bigint; fence: bigint }>;
  readonly #read: (token: bigint) => ReadResult;
  readonly #write: (value: number, token: bigint) => WriteResult;

  private constructor(file: string, fenced: boolean) {
    this.#db = new Database(file);
    // WAL lets readers and the single writer of each moment proceed together; the busy timeout
    // covers the rare moment two processes write at once (a zombie and the current holder).
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("busy_timeout = 5000");
    this.#row = this.#db.prepare<[], { value: bigint; fence: bigint }>(UNFENCED_READ).safeIntegers();
    const claim = this.#db.prepare<[bigint, bigint], { value: number }>(FENCED_READ);
    const update = this.#db.prepare(fenced ? FENCED_WRITE : UNFENCED_WRITE);
    // The plain row read beside a refused read and before each write only tells the timeline what
    // the statement ran into; the statement alone decides, and the transaction keeps the two from
    // seeing different rows.
    this.#read = this.#db.transaction((token: bigint): ReadResult => {
      if (!fenced) return { granted: true, ...this.row() };
      const claimed = claim.get(token, token);
      return claimed
        ? { granted: true, value: claimed.value, fence: token }
        : { granted: false, ...this.row() };
    }).immediate;
    this.#write = this.#db.transaction((value: number, token: bigint): WriteResult => {
      const before = this.row();
      const { changes } = update.run(value, token);
      return { applied: changes === 1, before };
    }).immediate;
  }

  /** Creates the database file with its counter at 0 and no token seen yet. */
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

  /** The row as it is, raising nothing: for the timeline and the summary, not for a holder. */
  row(): Row {
    const row = this.#row.get();
    if (!row) throw new Error("The counter row is missing; was CounterStore.create() run on this file?");
    return { value: Number(row.value), fence: row.fence };
  }

  /** A holder's read under `token`; fenced, it raises the fence to `token` or is refused. */
  read(token: bigint): ReadResult {
    return this.#read(token);
  }

  /** Sets the counter to `value` under `token`; `applied` is false when the store refused it. */
  write(value: number, token: bigint): WriteResult {
    return this.#write(value, token);
  }

  close(): void {
    this.#db.close();
  }
}
