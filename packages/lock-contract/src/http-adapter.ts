import { randomUUID } from "node:crypto";
import { once } from "node:events";
import http, { type ServerResponse } from "node:http";
import type { ContractHold, LockAdapter } from "./lock-adapter.js";

/** A work as the route runs it: with the hold's fencing token and the response it works on. */
export type HttpWork = (token: bigint, res: ServerResponse) => Promise<unknown>;

/** The works an {@link httpAdapter} hands its route, by the id in the request's path. */
export class HttpWorks {
  readonly #works = new Map<string, HttpWork>();

  /** The work of request `id`, once; a route that gets none fails the request. */
  take(id: string): HttpWork | undefined {
    const work = this.#works.get(id);
    this.#works.delete(id);
    return work;
  }

  /** @internal */
  put(id: string, work: HttpWork): void {
    this.#works.set(id, work);
  }

  /** @internal Whether `id` was never taken, and forgets it. */
  drop(id: string): boolean {
    return this.#works.delete(id);
  }
}

/**
 * The client half of the adapter of an HTTP integration, with `runLeaving` through a client that
 * closes its connection. The server routes `POST {baseUrl}/{hold}/{key}/{id}` (the key URL-encoded;
 * `hold` one of `CONTRACT_HOLDS`) through the integration's hold of that kind on `key`, runs
 * `works.take(id)` with the hold's token and the response, and answers its result as JSON
 * `{ "result": … }`, or its failure with a status ≥ 400 and a body that includes the error message.
 *
 * @example
 * ```ts
 * const works = new HttpWorks();
 * app.post("/run/shared/:key/:id", distributedLock(manager, { key: (req) => req.params.key, mode: "shared", rootDir }), (req, res, next) => {
 *   const work = works.take(req.params.id);
 *   if (!work) return next(new Error("no such work"));
 *   work(getLock(res).token, res).then((result) => res.json({ result }), next);
 * });
 * // … and the same for "/run/exclusive/…" and "/run/semaphore/…"
 * return httpAdapter(`http://127.0.0.1:${port}/run`, works, () => closeServer());
 * ```
 */
export function httpAdapter(
  baseUrl: string,
  works: HttpWorks,
  close: () => Promise<void>,
): LockAdapter & Required<Pick<LockAdapter, "runLeaving">> {
  const url = (key: string, hold: ContractHold, id: string) =>
    `${baseUrl}/${hold}/${encodeURIComponent(key)}/${id}`;
  return {
    async run<T>(key: string, hold: ContractHold, work: (token: bigint) => Promise<T>): Promise<T> {
      const id = randomUUID();
      const target = url(key, hold, id);
      works.put(id, (token) => work(token));
      try {
        const response = await fetch(target, { method: "POST" });
        const text = await response.text();
        if (!response.ok) throw new Error(`POST ${target} answered ${response.status}: ${text}`);
        return (JSON.parse(text) as { result: T }).result;
      } finally {
        works.drop(id);
      }
    },

    // The client has its own connection, which leave() destroys as a client that goes away does.
    // The work settles the run, since no answer arrives.
    runLeaving: (key, hold, work) =>
      new Promise<void>((resolve, reject) => {
        const id = randomUUID();
        const target = url(key, hold, id);
        const request = http.request(target, { method: "POST", agent: false });
        request.on("error", () => {}); // destroyed on purpose
        // An answer comes only when the route never took the work (it failed to lock, say).
        request.on("response", (response) => {
          response.resume();
          if (works.drop(id)) reject(new Error(`POST ${target} answered ${response.statusCode}.`));
        });
        works.put(id, (token, res) => {
          const leave = async () => {
            const closed = once(res, "close");
            request.destroy();
            await closed;
            // Let what else the connection's close set off (the integration's own listeners, what
            // they start) run before the work goes on.
            await new Promise((resolve) => setImmediate(resolve));
          };
          const running = work(token, leave);
          running.then(resolve, reject);
          return running;
        });
        request.end();
      }),

    close,
  };
}
