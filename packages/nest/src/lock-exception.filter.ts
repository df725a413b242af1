import { STATUS_CODES } from "node:http";
import {
  type ArgumentsHost,
  Catch,
  HttpException,
  type HttpServer,
  HttpStatus,
  Optional,
} from "@nestjs/common";
import { BaseExceptionFilter } from "@nestjs/core";
import { LockTimeoutError } from "@zk-dist-lock/core";

/** How {@link LockExceptionFilter} answers a request whose lock timed out. */
export interface LockExceptionFilterOptions {
  /** HTTP status. Default 423 (Locked); 409 (Conflict) and 503 (Service Unavailable) are common too. */
  status?: number;
  /** Sends `Retry-After` with this many seconds when set. */
  retryAfterSeconds?: number;
}

/**
 * Answers HTTP requests whose `@DistributedLock()` (or any `acquire()`) timed out with 423 Locked
 * (or the status you choose) instead of 500. Opt in per controller or globally. It catches only
 * `LockTimeoutError`; other errors keep their usual handling.
 *
 * @example
 * ```ts
 * // globally, through DI
 * providers: [{ provide: APP_FILTER, useClass: LockExceptionFilter }]
 * // per controller
 * @UseFilters(LockExceptionFilter)
 * // with options, outside DI: pass the HTTP adapter
 * app.useGlobalFilters(new LockExceptionFilter({ status: 409, retryAfterSeconds: 1 }, app.getHttpAdapter()));
 * ```
 */
@Catch(LockTimeoutError)
export class LockExceptionFilter extends BaseExceptionFilter {
  readonly #status: number;
  readonly #retryAfter: string | undefined;

  constructor(@Optional() options: LockExceptionFilterOptions = {}, @Optional() applicationRef?: HttpServer) {
    super(applicationRef);
    const { status = HttpStatus.LOCKED, retryAfterSeconds } = options;
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(
        `LockExceptionFilter status must be an HTTP error status (400-599); got ${status}.`,
      );
    }
    if (retryAfterSeconds !== undefined && !(Number.isInteger(retryAfterSeconds) && retryAfterSeconds >= 0)) {
      throw new RangeError(
        `LockExceptionFilter retryAfterSeconds must be a whole number ≥ 0; got ${retryAfterSeconds}.`,
      );
    }
    this.#status = status;
    this.#retryAfter = retryAfterSeconds === undefined ? undefined : String(retryAfterSeconds);
  }

  override catch(error: LockTimeoutError, host: ArgumentsHost): void {
    // Only HTTP has statuses; other transports get the error as it is.
    if (host.getType() !== "http") throw error;
    const adapter = this.applicationRef ?? this.httpAdapterHost?.httpAdapter;
    if (adapter === undefined) {
      throw new Error(
        "LockExceptionFilter has no HTTP adapter: register it through DI (APP_FILTER, @UseFilters(LockExceptionFilter)) or pass app.getHttpAdapter() as the second argument.",
      );
    }
    if (this.#retryAfter !== undefined)
      adapter.setHeader(host.switchToHttp().getResponse(), "Retry-After", this.#retryAfter);
    // The resource stays out of the body: keys often carry internal ids.
    const body = {
      statusCode: this.#status,
      error: STATUS_CODES[this.#status],
      message: "The resource is busy; try again later.",
    };
    super.catch(new HttpException(body, this.#status, { cause: error }), host);
  }
}
