// What the soak and its worker processes say to each other over the IPC channel of
// `child_process.fork` ("advanced" serialization, so bigint tokens travel as they are). Every `at`
// is a moment on the shared monotonic clock (clock.ts).

/** How a worker is configured; its single JSON argument. */
export interface WorkerConfig {
  id: number;
  /** Its way to the ensemble: its own proxy, which the soak partitions and cuts. */
  connect: string;
  sessionTimeoutMs: number;
  rootDir: string;
  resources: string[];
  acquireTimeoutMs: number;
  /** A stall of the worker's event loop this long or longer is reported (the lock cannot help it). */
  stallMs: number;
  seed: number;
}

/** Worker → soak: a request to the fenced store, answered by {@link StoreAnswer}. */
export type StoreRequest =
  /** The read of a read-modify-write: claims the row for `token` and reads it. */
  | { type: "claim"; id: number; resource: string; token: bigint }
  /** The write: `value` under the fence, `shadow` into the unfenced counter. */
  | { type: "write"; id: number; resource: string; token: bigint; value: number | undefined; shadow: number };

/** Soak → worker. */
export type StoreAnswer =
  | { type: "claimed"; id: number; granted: boolean; value: number; shadow: number }
  | { type: "written"; id: number; applied: boolean };

/** Soak → worker: finish the current cycle, close, exit. */
export type Command = { type: "stop" };

/** Worker → soak. */
export type Report =
  | StoreRequest
  /** The worker's event loop runs; sent every 250 ms. */
  | { type: "beat"; at: number }
  /** The event loop did not run from `from` to `to` (a pause, or an overloaded machine). */
  | { type: "stall"; from: number; to: number }
  | { type: "connected"; sessionId: string; at: number }
  | { type: "sessionClosed"; sessionId: string; code: number; at: number }
  | { type: "acquiring"; resource: string; at: number }
  | { type: "acquired"; resource: string; token: bigint; sessionId: string; startedAt: number; at: number }
  | { type: "acquireFailed"; resource: string; code: string; message: string; startedAt: number; at: number }
  /** A hold's event from the manager. */
  | {
      type: "suspended" | "reconnected" | "lost";
      resource: string;
      token: bigint;
      at: number;
      message?: string;
    }
  /** A lost hold whose session turned out to be alive: the client reconnected into it. */
  | { type: "falseLoss"; resource: string; token: bigint; at: number }
  /** `lock.signal` had aborted when the write was due, so the worker did not write. */
  | { type: "writeSkipped"; resource: string; token: bigint; at: number }
  /** About to call `release()`: the hold ends here. */
  | { type: "releasing"; resource: string; token: bigint; at: number }
  | { type: "releaseFailed"; resource: string; code: string; message: string; at: number }
  | { type: "stopped"; at: number };
