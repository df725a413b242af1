// The proxy's added latency: every delayed chunk waits here, in one heap for every connection of
// every proxy of the process, until its moment comes; one precise wake-up serves them all.
import { PreciseTimer, preciseNow } from "./precise-timer.js";

interface Entry {
  due: number;
  /** Arrival order, so that equal moments keep their order. */
  seq: number;
  deliver: () => void;
}

/** Chunks due within this many milliseconds of a wake-up go out with it: fewer wake-ups, 0.05 ms error. */
const coalesceMs = 0.05;

const heap: Entry[] = [];
let seq = 0;
let armedFor = Number.POSITIVE_INFINITY;
let wakeRequested = 0;
// A wake-up reaches this thread some 0.1-0.3 ms after the moment asked for (a thread switch and a
// message), more on a loaded machine. Asking that much earlier (up to 0.5 ms), and sending what is
// due within it, centres the delivery errors on zero, so that the added latency is right on average.
let lateMs = 0;
const timer = new PreciseTimer(flush);

const before = (a: Entry, b: Entry) => a.due < b.due || (a.due === b.due && a.seq < b.seq);

/** Runs `deliver` at `due` (a {@link preciseNow} value). */
export function deliverAt(due: number, deliver: () => void): void {
  const entry = { due, seq: seq++, deliver };
  heap.push(entry);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(entry, heap[parent]!)) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = entry;
  if (due < armedFor) arm(due);
}

function pop(): Entry {
  const top = heap[0]!;
  const last = heap.pop()!;
  if (heap.length > 0) {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right]!, heap[left]!) ? right : left;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
  return top;
}

function arm(due: number): void {
  armedFor = due;
  wakeRequested = due - lateMs;
  timer.wakeAt(wakeRequested);
}

function flush(): void {
  const now = preciseNow();
  lateMs = Math.min(0.5, Math.max(0, 0.9 * lateMs + 0.1 * (now - wakeRequested)));
  armedFor = Number.POSITIVE_INFINITY;
  const horizon = now + Math.max(coalesceMs, lateMs);
  while (heap.length > 0 && heap[0]!.due <= horizon) pop().deliver();
  if (heap.length > 0) arm(heap[0]!.due);
}

/** Ends the timer's thread when no proxy needs it any more. */
export async function closeDelayQueue(): Promise<void> {
  if (heap.length === 0) await timer.close();
}
