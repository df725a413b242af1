import { STATUS_CODES } from "node:http";
import {
  type ArgumentsHost,
  Catch,
  HttpException,
  type HttpServer,
  HttpStatus,
  Logger,
  Optional,
} from "@nestjs/common";
import { BaseExceptionFilter } from "@nestjs/core";
import { LockError, type LockErrorCode } from "@zk-dist-lock/core";

/** How {@link LockExceptionFilter} answers a request whose lock timed out. */
export interface LockExceptionFilterOptions {
  /**
   * HTTP status of a timeout. Default 423 (Locked). 409 (Conflict) is common too, but it is what
   * this filter answers a `CONFLICT` with, so clients could no longer tell the two apart.
   */
  status?: number;
  /**
   * Sends `Retry-After` with this many seconds: on timeouts when set, and on outages (503), which
   * always send it, instead of the default 5.
   */
  retryAfterSeconds?: number;
}

// An outage is not contention: a load balancer should tell them apart, and may retry elsewhere.
const OUTAGE_STATUS = 503;
const OUTAGE_RETRY_AFTER = "5";

/**
 * Answers HTTP requests whose `@DistributedLock()` or `@DistributedSemaphore()` (or any `acquire()`)
 * timed out with 423 Locked (or the status you choose) instead of 500, those that failed for want
 * of a ZooKeeper connection (`CONNECTION`) with 503 Service Unavailable and `Retry-After`, and
 * those refused with `CONFLICT` with 409 Conflict. Opt in per controller or globally. Other errors
 * keep their usual handling: a decorator's bad key (`INVALID_ARGUMENT` with `statusCode` 400) is
 * answered 400 Bad Request by Nest, with or without this filter.
 *
 * A `CONFLICT` is the resource's state ruling the request out (instances that disagree on a
 * semaphore's `permits`, a lock on a semaphore's key, an exclusive hold inside a shared one), not
 * contention that a retry soon would get past; it means a deployment or the code disagree with
 * itself, so the filter also logs it as an error, which a 4xx answer would otherwise hide.
 *
 * @example
 * ```ts
 * // globally, through DI
 * providers: [{ provide: APP_FILTER, useClass: LockExceptionFilter }]
 * // per controller
 * @UseFilters(LockExceptionFilter)
 * // with options, outside DI: pass the HTTP adapter
 * app.useGlobalFilters(new LockExceptionFilter({ status: 503, retryAfterSeconds: 1 }, app.getHttpAdapter()));
 * ```
 */
@Catch(LockError)
export class LockExceptionFilter extends BaseExceptionFilter {
  readonly #status: number;
  readonly #retryAfter: string | undefined;
  readonly #logger = new Logger(LockExceptionFilter.name);

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

  override catch(error: LockError, host: ArgumentsHost): void {
    // Only HTTP has statuses; other transports get the error as it is.
    if (host.getType() !== "http") throw error;
    const answer = this.#answer(error.code);
    // Other lock errors get Nest's usual answer, as if this filter were not there.
    if (answer === undefined) {
      super.catch(error, host);
      return;
    }
    const adapter = this.applicationRef ?? this.httpAdapterHost?.httpAdapter;
    if (adapter === undefined) {
      throw new Error(
        "LockExceptionFilter has no HTTP adapter: register it through DI (APP_FILTER, @UseFilters(LockExceptionFilter)) or pass app.getHttpAdapter() as the second argument.",
      );
    }
    if (error.code === "CONFLICT") this.#logger.error(error.message, error.stack);
    const { status, retryAfter, message } = answer;
    if (retryAfter !== undefined)
      adapter.setHeader(host.switchToHttp().getResponse(), "Retry-After", retryAfter);
    // The resource stays out of the body: keys often carry internal ids.
    const body = { statusCode: status, error: STATUS_CODES[status], message };
    super.catch(new HttpException(body, status, { cause: error }), host);
  }

  /** The answer to each lock error this filter answers, and undefined for the others. */
  #answer(
    code: LockErrorCode,
  ): { status: number; retryAfter: string | undefined; message: string } | undefined {
    switch (code) {
      case "TIMEOUT":
        return {
          status: this.#status,
          retryAfter: this.#retryAfter,
          message: "The resource is busy; try again later.",
        };
      case "CONNECTION":
        return {
          status: OUTAGE_STATUS,
          retryAfter: this.#retryAfter ?? OUTAGE_RETRY_AFTER,
          message: "The lock service is unavailable; try again later.",
        };
      case "CONFLICT":
        // Retrying does not help until the deployment or the code agree with themselves.
        return {
          status: HttpStatus.CONFLICT,
          retryAfter: undefined,
          message: "The request conflicts with how the resource is held; see the server log.",
        };
      default:
        return undefined;
    }
  }
}
