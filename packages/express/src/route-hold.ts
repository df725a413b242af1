import { LockError, LockLostError } from "@zk-dist-lock/core";
import type { Response } from "express";
import { ClientClosedError, type HoldKind, heldPhrase, type RouteLock } from "./route-lock.js";

/** What ended a hold. */
type Ending = "response" | "release" | "maxHold";

/** What a {@link RouteHold} gets from the middleware that took the lock or the permit. */
export interface RouteHoldSetup {
  /** What is held: a lock or a semaphore's permit, as messages name it. */
  kind: HoldKind;
  resource: string;
  token: bigint;
  /** The core handle of the hold (a `ZkLock` or a `ZkSemaphore`): its signal aborts when the hold is lost. */
  handle: { readonly signal: AbortSignal };
  res: Response;
  /** Lets `withLock()` (or `withSemaphore()`) return, which releases the hold; resolves as it does. */
  finish: () => Promise<void>;
  maxHold: number | undefined;
  /** The hold of an earlier middleware of the request on the same resource, which this one joined. */
  joined: RouteHold | undefined;
}

/**
 * One request's hold of a lock or a permit, from the moment it came. It ends exactly once, at the first of: the
 * response ended ("finish", or `res.end()` called after the client left), `release()`, `maxHold`.
 * A connection that closes while the response is still open does not end it, because the handler
 * is still at work: it aborts `clientSignal` instead, and the hold waits for the handler to end the
 * response, which no "finish" event reports once the connection is gone.
 */
export class RouteHold implements RouteLock {
  readonly resource: string;
  readonly token: bigint;
  readonly #setup: RouteHoldSetup;
  #ending: Ending | undefined;
  #released: Promise<void> | undefined;
  #clientClosed = false;
  // Made when read: most requests never look at either signal.
  #signal: AbortController | undefined;
  #client: AbortController | undefined;
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(setup: RouteHoldSetup) {
    this.#setup = setup;
    this.resource = setup.resource;
    this.token = setup.token;
    if (setup.maxHold !== undefined) {
      this.#timer = setTimeout(() => this.#outlived(), setup.maxHold);
      // A hold must not keep a process alive that would otherwise exit.
      this.#timer.unref();
    }
  }

  get signal(): AbortSignal {
    if (!this.#signal) {
      const controller = new AbortController();
      this.#signal = controller;
      if (this.#ending) controller.abort(this.#endReason());
      else {
        // While the hold stands, the core lock's signal aborts only when the lock is lost; when the
        // hold ends, this one aborts first, with the reason of the ending.
        const lost = this.#setup.handle.signal;
        if (lost.aborted) controller.abort(lost.reason);
        else lost.addEventListener("abort", () => controller.abort(lost.reason), { once: true });
      }
    }
    return this.#signal.signal;
  }

  get clientSignal(): AbortSignal {
    if (!this.#client) {
      this.#client = new AbortController();
      if (this.#clientClosed) this.#client.abort(this.#clientReason());
    }
    return this.#client.signal;
  }

  release(): Promise<void> {
    this.#end("release");
    const released = this.#released as Promise<void>;
    // A joined hold is a count on the earlier one: the lock is free once that one is released too.
    const { joined } = this.#setup;
    return joined ? Promise.all([released, joined.release()]).then(() => {}) : released;
  }

  /** The response has been ended: it finished, or the handler ended it after the client left. */
  responseEnded(): void {
    this.#end("response");
  }

  /** The connection closed: the end of the hold if the response was ended, else the client left. */
  connectionClosed(): void {
    const { res } = this.#setup;
    if (!res.writableFinished) {
      this.#clientClosed = true;
      this.#client?.abort(this.#clientReason());
    }
    if (this.#ending) return;
    // Ended, but the client left before all of it arrived: the handler is done all the same.
    if (res.writableEnded) {
      this.#end("response");
      return;
    }
    const end = res.end;
    const hold = this;
    res.end = function (this: unknown, ...args: unknown[]) {
      const result = Reflect.apply(end, this, args);
      hold.responseEnded();
      return result;
    } as Response["end"];
  }

  #end(ending: Ending): void {
    if (this.#ending) return;
    this.#ending = ending;
    clearTimeout(this.#timer);
    this.#signal?.abort(this.#endReason());
    this.#released = this.#setup.finish();
  }

  #outlived(): void {
    const { maxHold, res } = this.#setup;
    this.#end("maxHold");
    const request = `${res.req.method} ${res.req.baseUrl}${res.req.path}`;
    const client = this.#clientClosed ? "; its client had left" : "";
    const [middleware, risk] =
      this.#setup.kind === "lock"
        ? ["distributedLock", "only writes fenced with the token are safe from it"]
        : ["distributedSemaphore", "one handler more than the permits may run until it ends"];
    process.emitWarning(
      `${middleware}() released ${this.#held()} (token ${this.token}) after maxHold (${maxHold} ms): ${request} had not ended its response${client}. Its handler may still be running; ${risk}.`,
      { type: "ZkDistLockWarning", code: "ZK_DIST_LOCK_MAX_HOLD" },
    );
  }

  #endReason(): LockError {
    const { resource } = this;
    const held = capitalized(this.#held());
    if (this.#ending === "maxHold") {
      const reason = `the middleware released it after maxHold (${this.#setup.maxHold} ms), before the response was ended`;
      const lost = new LockLostError(resource, reason);
      lost.message = `${held} was lost: ${reason}.`;
      return lost;
    }
    const how = this.#ending === "release" ? "release() was called" : "the response was ended";
    return new LockError("NOT_HELD", `${held} was released: ${how}.`, { resource });
  }

  #held(): string {
    return heldPhrase(this.#setup.kind, this.resource);
  }

  #clientReason(): ClientClosedError {
    return new ClientClosedError(
      this.resource,
      `The client closed the connection before the response was finished; ${this.#held()} is held until the handler ends the response or calls release().`,
    );
  }
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
