import { AsyncLocalStorage } from "node:async_hooks";
import { LockError } from "@zk-dist-lock/core";

/** A value that a decorated method's call chain can read, and that fails outside it. */
export interface ContextSlot<T> {
  run<R>(value: T, fn: () => R): R;
  /** The innermost value of the current async call chain; `NOT_HELD` outside one. */
  get(): T;
}

/** A {@link ContextSlot} whose error outside a call chain says `outside`. */
export function contextSlot<T>(outside: string): ContextSlot<T> {
  const storage = new AsyncLocalStorage<T>();
  return {
    run: (value, fn) => storage.run(value, fn),
    get() {
      const value = storage.getStore();
      if (value === undefined) throw new LockError("NOT_HELD", outside);
      return value;
    },
  };
}
