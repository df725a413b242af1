// What the demo's processes say to each other over the IPC channel of `child_process.fork`. The
// channel uses the "advanced" (structured clone) serialization, so bigint tokens travel as they are.

/** How a worker process is configured; passed as its single JSON argument. */
export interface WorkerConfig {
  id: number;
  connect: string;
  sessionTimeoutMs: number;
  dbFile: string;
  fenced: boolean;
  rootDir: string;
  resource: string;
  /** The time between reading the counter and writing it back, as real work would take. */
  workMs: number;
}

/** Parent → worker. */
export type Command =
  /** On your next hold, after reading the counter, report `freezePoint` and wait for `write`. */
  | { type: "freezeNext" }
  /** Perform the write you were about to do (sent right after SIGCONT). */
  | { type: "write" }
  /** Finish the current cycle and exit. */
  | { type: "stop" };

/** Worker → parent. */
export type Report =
  /** Connected; `sessionTimeoutMs` is what the server granted. */
  | { type: "session"; sessionTimeoutMs: number; renewed: boolean }
  | { type: "waiting" }
  | { type: "acquired"; token: bigint }
  /** The store refused the read under `token`: a newer holder had raised the fence to `fence`. */
  | { type: "readRefused"; token: bigint; fence: bigint }
  /** Holding `token`, the counter read as `value`: the moment to freeze this process. */
  | { type: "freezePoint"; token: bigint; value: number }
  | {
      type: "wrote";
      token: bigint;
      value: number;
      applied: boolean;
      before: { value: number; fence: bigint };
      /** Whether `lock.signal` had aborted when the write was sent. */
      signalAborted: boolean;
      /** This was the write held back at a freeze point. */
      stale: boolean;
    }
  | { type: "released"; token: bigint }
  /** The hold ended without release (the session expired or was cut off). */
  | { type: "lost"; reason: string }
  | { type: "stopped" };
