import { CONTRACT_PERMITS, type ContractHold } from "./lock-adapter.js";

/**
 * One pass of the contract: the hold its runs take, and what each case expects of it. The cases
 * are the same in every pass; only these differ.
 */
export interface Pass {
  name: string;
  /** What the runs under test hold. */
  hold: ContractHold;
  titles: Record<"queue" | "overlap" | "tokens" | "failing" | "reentrant" | "leaving" | "rounds", string>;
  /** The runs of the queue case, in queue order. */
  queue: ContractHold[];
  /** How many runs of `queue` are inside together before any leaves. */
  together: number;
  /** The keys of runs that may all be inside at once (the overlap case). */
  overlapping: string[];
  /** The holds of successive runs, one after another, in the tokens case. */
  successive: ContractHold[];
  /** Whether the core README promises a greater token to a run holding `after` than to an earlier `before`. */
  ordered(before: ContractHold, after: ContractHold): boolean;
  /** The other hold that the work asks for inside its own, and whether it joins (or is refused). */
  other: ContractHold;
  otherJoins: boolean;
  /** The hold of the run that must wait for a run whose caller left. */
  next: ContractHold;
  /** How many others hold beside the leaving run, so that it alone blocks the next one. */
  companions: number;
}

const EXCLUSIVE = "exclusive";
const SHARED = "shared";
const SEMAPHORE = "semaphore";

/** The passes of the contract: exclusive locks, shared locks among writers, and a semaphore. */
export const passes: Pass[] = [
  {
    name: "exclusive",
    hold: EXCLUSIVE,
    titles: {
      queue:
        "never lets two runs on one key overlap, across sessions, lets them in in arrival order, and completes every run",
      overlap: "runs works on different keys at the same time",
      tokens: "hands out strictly increasing fencing tokens to successive runs, across sessions",
      failing: "rejects a run whose work throws and frees the lock",
      reentrant:
        "lets manager.withLock() inside the work join the hold on the same key, exclusive or shared (a downgrade)",
      leaving:
        "keeps the hold after the caller left mid-run, until the work ends, and only then lets the next run in",
      rounds: "lets the next run in only after the work whose caller left has ended",
    },
    queue: Array.from({ length: 8 }, () => EXCLUSIVE),
    together: 1,
    overlapping: ["contract:parallel-1", "contract:parallel-2", "contract:parallel-3"],
    successive: Array.from({ length: 6 }, () => EXCLUSIVE),
    ordered: () => true,
    other: SHARED,
    otherJoins: true,
    next: EXCLUSIVE,
    companions: 0,
  },
  {
    name: "shared",
    hold: SHARED,
    titles: {
      queue:
        "lets readers on one key in together, never a writer with anyone, and nobody past a waiting writer, across sessions",
      overlap: "runs readers of one key, across sessions, and of another key at the same time",
      tokens:
        "gives a writer a token above every earlier run's, and a reader one above the writers' before it, across sessions",
      failing: "rejects a reader whose work throws and frees the lock",
      reentrant:
        "lets a shared manager.withLock() inside a reader join its hold, and refuses an exclusive one with CONFLICT",
      leaving:
        "keeps a reader's hold after its caller left mid-run, until the work ends, and only then lets a writer in",
      rounds: "lets a writer in only after the reader whose caller left has ended",
    },
    queue: [SHARED, SHARED, EXCLUSIVE, SHARED, SHARED, EXCLUSIVE, SHARED, SHARED],
    together: 2,
    overlapping: ["contract:parallel-1", "contract:parallel-1", "contract:parallel-2"],
    successive: [SHARED, EXCLUSIVE, SHARED, SHARED, EXCLUSIVE, SHARED],
    // Readers at the same time are ordered only as they queued, so the README orders a reader only by writers.
    ordered: (before, after) => before === EXCLUSIVE || after === EXCLUSIVE,
    other: EXCLUSIVE,
    otherJoins: false,
    next: EXCLUSIVE,
    companions: 0,
  },
  {
    name: `semaphore of ${CONTRACT_PERMITS}`,
    hold: SEMAPHORE,
    titles: {
      queue: `never lets more than ${CONTRACT_PERMITS} runs on one key in at once, across sessions, lets them in in arrival order, and completes every run`,
      overlap: "runs permits of one key, across sessions, and of another key at the same time",
      tokens:
        "hands each permit a token above those of the permits released before it was asked for, across sessions",
      failing: "rejects a run whose work throws and frees its permit",
      reentrant:
        "lets manager.withSemaphore() inside the work join the permit, and refuses a lock on the key with CONFLICT",
      leaving: `keeps the permit after the caller left mid-run, until the work ends, and only then lets a ${CONTRACT_PERMITS + 1}th run in`,
      rounds: "lets the next run in only after the work whose caller left has ended and freed its permit",
    },
    queue: Array.from({ length: 8 }, () => SEMAPHORE),
    together: CONTRACT_PERMITS,
    overlapping: ["contract:parallel-1", "contract:parallel-1", "contract:parallel-2"],
    successive: Array.from({ length: 6 }, () => SEMAPHORE),
    // Each run ended before the next was granted.
    ordered: () => true,
    other: EXCLUSIVE,
    otherJoins: false,
    next: SEMAPHORE,
    companions: CONTRACT_PERMITS - 1,
  },
];
