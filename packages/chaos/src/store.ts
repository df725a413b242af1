// The data the locks protect, kept by the soak's main process and reached by the workers over IPC,
// as a database server would be over the network: one counter per resource, written by
// read-modify-write cycles under the lock, and beside it a shadow counter that takes the same writes
// without any fencing, to show what fencing saves.
//
// The fence is checked on the read as well as on the write. A write-only check (`UPDATE … WHERE
// fence < :token`) still loses an update in a read-modify-write: the new holder reads, the zombie
// (an older token, higher than the last written one) writes, then the new holder writes over it. So
// the read claims the row for its token (refused if a newer token has claimed it) and the write
// applies only while the row is still claimed by that token.

/** One resource's row. */
export interface Row {
  /** The fenced counter. */
  value: number;
  /** The highest token that claimed the row. */
  fence: bigint;
  /** The unfenced counter: every write lands, as a store without fencing would let it. */
  shadow: number;
  /** Claims made, granted or not. */
  claims: number;
  /** Fenced writes applied (each acknowledged to its worker). */
  applied: number;
  /** Writes that reached the shadow. */
  shadowWrites: number;
  /** Claims and writes refused because a newer token had claimed the row. */
  refusedClaims: number;
  refusedWrites: number;
  /** When each fenced write was applied, for the stall figures. */
  writeTimes: number[];
}

/** Something the store saw that must never happen. */
export interface StoreViolation {
  at: number;
  resource: string;
  message: string;
}

/**
 * The fenced store.
 *
 * @example
 * ```ts
 * const store = new FencedStore(["a"]);
 * const { granted, value } = store.claim("a", 7n, now());
 * store.write("a", 7n, value + 1, shadow + 1, now()); // { applied: true }
 * ```
 */
export class FencedStore {
  readonly rows = new Map<string, Row>();
  readonly violations: StoreViolation[] = [];

  constructor(
    resources: string[],
    private readonly onViolation: (violation: StoreViolation) => void = () => {},
  ) {
    for (const resource of resources) {
      this.rows.set(resource, {
        value: 0,
        fence: 0n,
        shadow: 0,
        claims: 0,
        applied: 0,
        shadowWrites: 0,
        refusedClaims: 0,
        refusedWrites: 0,
        writeTimes: [],
      });
    }
  }

  /**
   * The read: granted when no newer token has claimed the row, and then the row is `token`'s. The
   * shadow is read either way, as a store without fencing would answer.
   */
  claim(resource: string, token: bigint, at: number): { granted: boolean; value: number; shadow: number } {
    const row = this.#row(resource);
    row.claims++;
    // Each hold claims once, so a token equal to the fence is a second holder with the same token:
    // tokens handed out by the lock must strictly increase.
    if (token === row.fence) this.#violate(at, resource, `token ${token} claimed the row a second time`);
    const granted = token >= row.fence;
    if (granted) row.fence = token;
    else row.refusedClaims++;
    return { granted, value: row.value, shadow: row.shadow };
  }

  /** The write: `value` (undefined when the claim was refused) only under the claim; `shadow` always. */
  write(
    resource: string,
    token: bigint,
    value: number | undefined,
    shadow: number,
    at: number,
  ): { applied: boolean } {
    const row = this.#row(resource);
    row.shadow = shadow;
    row.shadowWrites++;
    if (value === undefined) return { applied: false };
    if (row.fence !== token) {
      row.refusedWrites++;
      return { applied: false };
    }
    if (value !== row.value + 1) {
      this.#violate(at, resource, `token ${token} wrote ${value} over ${row.value}: an update was lost`);
    }
    row.value = value;
    row.applied++;
    row.writeTimes.push(at);
    return { applied: true };
  }

  #row(resource: string): Row {
    const row = this.rows.get(resource);
    if (!row) throw new Error(`No row for resource ${resource}`);
    return row;
  }

  #violate(at: number, resource: string, message: string): void {
    const violation = { at, resource, message };
    this.violations.push(violation);
    this.onViolation(violation);
  }
}
