import { Logger, type LogLevel } from "@nestjs/common";
import { LockInvalidArgumentError } from "@zk-dist-lock/core";
import { render } from "./decorated-method.js";

/** The Nest log level of the line that says a call was skipped, or `false` for no line. */
export type SkipLog = LogLevel | false;

const levels = new Set<unknown>(["log", "error", "warn", "debug", "verbose", "fatal", false]);

/** Checks a decorator's `skipLog` option and returns what logs a skipped call (nothing for `false`). */
export function skipLogger(decorator: string, skipLog: unknown = "log"): (message: string) => void {
  if (!levels.has(skipLog)) {
    throw new LockInvalidArgumentError(
      `${decorator} option skipLog must be a Nest log level ("log", "debug", "verbose", …) or false; got ${render(skipLog)}.`,
    );
  }
  if (skipLog === false) return () => {};
  const logger = new Logger(decorator.slice(1, -2)); // "@LeaderOnly()" logs as "LeaderOnly"
  const level = skipLog as LogLevel;
  return (message) => logger[level](message);
}
