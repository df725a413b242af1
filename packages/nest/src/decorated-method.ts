// What every method decorator of this package shares: refusing what is not an instance method,
// getting the module's binding into each instance through DI, and a wrapper that keeps the
// original method's name and metadata.
import "reflect-metadata";
import { Inject, Optional } from "@nestjs/common";
import { ModuleRef } from "@nestjs/core";
import { LockError, LockInvalidArgumentError } from "@zk-dist-lock/core";
import { ZK_LOCK_BINDING } from "./zk-lock.constants.js";
import type { ZkLockBinding } from "./zk-lock-binding.js";

// Where Nest puts the module's binding on each instance, and a property whose assignment proves
// that Nest created the instance: it is injected after the binding, so its setter can tell whether
// the binding arrived.
const BINDING = Symbol("@zk-dist-lock/nest:binding");
const BOOTSTRAP_CHECK = Symbol("@zk-dist-lock/nest:bootstrap-check");

interface Bound {
  [BINDING]?: ZkLockBinding;
}

/** What a decorator asks to be done with each instance Nest creates, once its binding is there. */
export type OnBind = (binding: ZkLockBinding, instance: object) => void;

/** Per prototype: the decorators used on it, and what they do at each instance's binding. */
const prepared = new WeakMap<object, { decorators: Set<string>; onBind: OnBind[] }>();

/** The method a decorator wraps, and `Class.method` for messages. */
export interface DecoratedMethod {
  original: (...args: unknown[]) => unknown;
  where: string;
}

/**
 * Checks that `decorator` sits on an instance method, prepares the class for injection (once per
 * class), and registers `onBind` to run for each instance Nest creates. Throws
 * `LockInvalidArgumentError` when the class is defined, for statics and non-methods.
 */
export function decorateMethod(
  decorator: string,
  target: object,
  propertyKey: string | symbol,
  descriptor: PropertyDescriptor,
  onBind?: OnBind,
): DecoratedMethod {
  const original: unknown = descriptor.value;
  const where = `${typeof target === "function" ? target.name : target.constructor.name}.${String(propertyKey)}`;
  if (typeof original !== "function") {
    throw new LockInvalidArgumentError(`${decorator} decorates methods; ${where} is not one.`);
  }
  if (typeof target === "function") {
    throw new LockInvalidArgumentError(
      `${decorator} needs an instance method that Nest creates; ${where} is static.`,
    );
  }
  const preparation = prepareInjection(target);
  preparation.decorators.add(decorator);
  if (onBind) preparation.onBind.push(onBind);
  return { original: original as DecoratedMethod["original"], where };
}

/**
 * Gives `wrapper` the original's name and metadata. Route, cron, event and other metadata is
 * stored on the method function itself; the wrapper takes it over, so it does not matter whether
 * those decorators run before or after ours.
 */
export function finishWrapper<F extends object>(original: object, wrapper: F): F {
  for (const metadataKey of Reflect.getOwnMetadataKeys(original)) {
    Reflect.defineMetadata(metadataKey, Reflect.getOwnMetadata(metadataKey, original), wrapper);
  }
  Object.defineProperty(wrapper, "name", { value: (original as { name: string }).name });
  return wrapper;
}

/** The module's binding of an instance Nest created; otherwise a `NOT_INITIALIZED` error naming the fix. */
export function bindingOf(instance: unknown, where: string, decorator: string): ZkLockBinding {
  const binding = (instance as Bound | undefined)?.[BINDING];
  if (binding === undefined) {
    throw new LockError(
      "NOT_INITIALIZED",
      `${where} is decorated with ${decorator}, but this instance did not get a ZkLockManager: create it through Nest (not with new, useValue or useFactory) in an application that imports ZkLockModule.`,
    );
  }
  return binding;
}

/**
 * Checks the optional name a decorator takes (`what`: "election name", "job name"); throws
 * `LockInvalidArgumentError` when the class is defined. Its options are core's to check.
 */
export function checkName(decorator: string, what: string, name: unknown): void {
  if (name !== undefined && (typeof name !== "string" || name === "")) {
    throw new LockInvalidArgumentError(
      `${decorator} needs a non-empty ${what}, or none for "Class.method"; got ${render(name)}.`,
    );
  }
}

/** A short rendering of a bad argument for an error message. */
export function render(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null) return "null";
  return typeof value === "object" || typeof value === "function"
    ? `a ${typeof value}`
    : `${typeof value} ${String(value)}`;
}

/**
 * Asks Nest to inject the module's binding into every instance of the class (optionally, so that a
 * missing module does not end in Nest's generic "can't resolve dependencies" error), then a
 * `ModuleRef`, which every module has, under a property whose setter fails the bootstrap with a
 * message that names the fix when the binding did not arrive, and otherwise runs what the
 * decorators asked for.
 */
function prepareInjection(prototype: object) {
  const existing = prepared.get(prototype);
  if (existing) return existing;
  const preparation = { decorators: new Set<string>(), onBind: [] as OnBind[] };
  prepared.set(prototype, preparation);
  Optional()(prototype, BINDING);
  Inject(ZK_LOCK_BINDING)(prototype, BINDING);
  Inject(ModuleRef)(prototype, BOOTSTRAP_CHECK);
  Object.defineProperty(prototype, BOOTSTRAP_CHECK, {
    configurable: true,
    set(this: Bound) {
      const binding = this[BINDING];
      if (binding === undefined) {
        const used = [...preparation.decorators].join(", ");
        throw new LockError(
          "NOT_INITIALIZED",
          `${this.constructor.name} uses ${used}, which needs ZkLockModule: add ZkLockModule.forRoot({ connect }) (or forRootAsync(), or { manager } to share one) to the imports of your root module. It is global by default; with isGlobal: false, import it in the module that provides ${this.constructor.name}.`,
        );
      }
      for (const onBind of preparation.onBind) onBind(binding, this);
    },
  });
  return preparation;
}
