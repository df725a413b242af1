/**
 * Prints the demo's live timeline: one line per event, with the elapsed time and the worker.
 *
 * @example
 * ```ts
 * const timeline = new Timeline(console.log, () => performance.now() - started);
 * timeline.event(2, "acquired     token 4294967321");
 * //   1.203s  worker 2  acquired     token 4294967321
 * ```
 */
export class Timeline {
  constructor(
    private readonly write: (line: string) => void,
    private readonly clock: () => number,
  ) {}

  /** A line about one worker, or about all of them when `worker` is undefined. */
  event(worker: number | undefined, text: string): void {
    const who = worker === undefined ? "" : `worker ${worker}`;
    this.write(`${seconds(this.clock()).padStart(9)}  ${who.padEnd(9)} ${text}`);
  }

  /** A continuation of the previous line, aligned under its text. */
  more(text: string): void {
    this.write(`${" ".repeat(21)}${text}`);
  }
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(3)}s`;

/** "worker 2, worker 3", or "nobody". */
export const workerList = (ids: number[]) =>
  ids.length === 0 ? "nobody" : ids.map((id) => `worker ${id}`).join(", ");
