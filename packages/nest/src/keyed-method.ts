// What @DistributedLock() and @DistributedSemaphore() share: a key that is a string or a function
// of the method's arguments, the module's defaults under the decorator's options, and a wrapper
// that runs the method inside the hold the decorator takes.
import { encodeResource, isLockError, LockInvalidArgumentError } from "@zk-dist-lock/core";
import { from, isObservable, lastValueFrom, toArray } from "rxjs";
import { bindingOf, decorateMethod, finishWrapper, render } from "./decorated-method.js";
import type { ZkLockBinding } from "./zk-lock-binding.js";

/**
 * The resource to hold: a fixed string, or a function of the method's arguments (in order; it may
 * take fewer than the method has) that returns a non-empty string.
 */
export type DistributedLockKey<A extends unknown[]> = string | ((...args: A) => string);

/**
 * Refuses, when the class is defined, a key that is neither a non-empty string nor a function, and
 * a string that is no resource (over 512 UTF-8 bytes, or not UTF-8): it would fail at every call.
 */
export function checkKey(decorator: string, key: unknown): void {
  if (typeof key === "string" ? key === "" : typeof key !== "function") {
    throw new LockInvalidArgumentError(
      `${decorator} needs a non-empty string key or a function of the method's arguments; got ${render(key)}.`,
    );
  }
  if (typeof key === "string") encodeResource(key);
}

/**
 * A key that a key function made of a request is the client's mistake, as the Express middleware
 * has it: the error carries status 400, which Nest's exception handling (and
 * `LockExceptionFilter`, which leaves it to Nest) answers with 400 Bad Request and the message.
 * Outside HTTP the properties do nothing.
 */
function asBadRequest(error: LockInvalidArgumentError): LockInvalidArgumentError {
  return Object.assign(error, { status: 400, statusCode: 400 });
}

/**
 * The resource a key function returned, checked as core will check it (it also throws
 * `INVALID_ARGUMENT`, but from inside the hold, among the method's own errors), so that only the
 * key's error is marked a bad request.
 */
function checkedResource(resource: unknown, decorator: string, where: string): string {
  if (typeof resource !== "string" || resource === "") {
    throw asBadRequest(
      new LockInvalidArgumentError(
        `The key function of ${decorator} on ${where} returned ${render(resource)}; it must return a non-empty string.`,
      ),
    );
  }
  try {
    encodeResource(resource);
  } catch (error) {
    if (isLockError(error, "INVALID_ARGUMENT")) throw asBadRequest(error as LockInvalidArgumentError);
    throw error;
  }
  return resource;
}

/** The module's defaults under `options`, merged once per binding, not per call. */
export function withDefaults<O extends object>(options: O): (binding: ZkLockBinding) => O {
  const merged = new WeakMap<ZkLockBinding, O>();
  return (binding) => {
    let given = merged.get(binding);
    if (given === undefined) {
      given = { ...binding.defaults, ...options };
      merged.set(binding, given);
    }
    return given;
  };
}

/** Runs `method` (the original call) holding `resource` through the module's manager. */
export type Hold = (binding: ZkLockBinding, resource: string, method: () => unknown) => Promise<unknown>;

/**
 * The method decorator that runs every call of the method inside `hold` of the call's resource.
 * The key's type is checked against the method's parameters.
 */
export function keyedMethod<A extends unknown[]>(decorator: string, key: DistributedLockKey<A>, hold: Hold) {
  return <M extends (...args: [...A, ...never[]]) => unknown>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<M>,
  ): void => {
    const { original, where } = decorateMethod(decorator, target, propertyKey, descriptor);
    const resourceOf = (self: unknown, args: Parameters<M>): string =>
      // A string key was checked by checkKey() when the class was defined.
      typeof key === "string"
        ? key
        : checkedResource(key.apply(self, args as unknown as A), decorator, where);
    // Not an async function: one that returns the hold's promise costs every call extra turns of
    // the microtask queue, on the path between the release's reply and the caller.
    const held = function (this: unknown, ...args: Parameters<M>): Promise<unknown> {
      try {
        return hold(bindingOf(this, where, decorator), resourceOf(this, args), () =>
          throughObservable(original.apply(this, args)),
        );
      } catch (error) {
        return Promise.reject(error);
      }
    };
    descriptor.value = finishWrapper(original, held) as unknown as M;
  };
}

/**
 * A method's result, with an Observable (returned, or resolved by a Promise) run to its end inside
 * the hold: an Observable does its work when subscribed, and whoever subscribes to the wrapper's
 * result (Nest, for a route or a message handler) does so only once the hold has ended. The caller
 * gets an Observable of the same values, emitted after the release; an error rejects the call.
 */
function throughObservable(result: unknown): unknown {
  if (isObservable(result)) return lastValueFrom(result.pipe(toArray())).then((values) => from(values));
  return result instanceof Promise ? result.then(throughObservable) : result;
}

/**
 * Core's context of a hold (`{ token, signal, lock }` or `{ token, signal, semaphore }`) with the
 * resource beside it, its `signal` still read on demand: most holds never need an AbortController.
 * Built as a literal: copying the context's property descriptors cost microseconds per call.
 */
export function withResourceOf<
  K extends string,
  C extends { token: bigint; readonly signal: AbortSignal } & Record<K, unknown>,
>(context: C, handle: K, resource: string): C & { resource: string } {
  const withResource = {
    resource,
    token: context.token,
    [handle]: context[handle],
    get signal() {
      return context.signal;
    },
  };
  return withResource as typeof withResource & C;
}
