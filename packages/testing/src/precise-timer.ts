// A wake-up call accurate to a tenth of a millisecond, for the proxy's added latency. Node's timers
// have a resolution of 1 ms and fire up to another millisecond late, which is the whole budget of a
// 1 ms round trip. A worker thread sleeps in Atomics.wait (a futex, microsecond resolution) until
// the requested moment and then posts a message, which wakes this thread's event loop at once. It
// costs a thread and a message per wake-up; no thread ever spins.
import { Worker } from "node:worker_threads";

// Runs in the worker. Slot 0 of `generation` changes with every new request; `due` holds the
// moment (performance.timeOrigin + performance.now(), shared by both threads) to wake at.
const workerSource = `
const { workerData, parentPort } = require("node:worker_threads");
const generation = new Int32Array(workerData, 0, 1);
const due = new Float64Array(workerData, 8, 1);
let answered = -1;
for (;;) {
  const current = Atomics.load(generation, 0);
  if (current === answered) {
    Atomics.wait(generation, 0, current);
    continue;
  }
  const wait = due[0] - (performance.timeOrigin + performance.now());
  if (wait <= 0) {
    answered = current;
    parentPort.postMessage(current);
  } else {
    Atomics.wait(generation, 0, current, wait);
  }
}`;

/** The clock both threads read: milliseconds, with sub-millisecond precision. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/** One pending wake-up at a time; asking for another replaces it. */
export class PreciseTimer {
  readonly #shared = new SharedArrayBuffer(16);
  readonly #generation = new Int32Array(this.#shared, 0, 1);
  readonly #due = new Float64Array(this.#shared, 8, 1);
  #worker: Worker | undefined;
  #armed = false;

  constructor(private readonly onWake: () => void) {}

  /** Calls `onWake` once, at `time` (a {@link preciseNow} value), unless replaced or cancelled first. */
  wakeAt(time: number): void {
    if (this.#worker === undefined) {
      this.#worker = new Worker(workerSource, { eval: true, workerData: this.#shared });
      // Wake-ups of a generation that was replaced are ignored: only the latest one counts.
      this.#worker.on("message", (generation: number) => {
        if (generation !== Atomics.load(this.#generation, 0) || !this.#armed) return;
        this.#armed = false;
        this.#worker?.unref();
        this.onWake();
      });
    }
    this.#due[0] = time;
    Atomics.add(this.#generation, 0, 1);
    Atomics.notify(this.#generation, 0);
    this.#armed = true;
    // A pending wake-up keeps the process alive, as a timer would; an idle worker does not.
    this.#worker.ref();
  }

  cancel(): void {
    this.#armed = false;
    this.#worker?.unref();
  }

  /** Ends the worker thread. */
  async close(): Promise<void> {
    this.#armed = false;
    const worker = this.#worker;
    this.#worker = undefined;
    await worker?.terminate();
  }
}
