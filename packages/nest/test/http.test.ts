import "reflect-metadata";
import http from "node:http";
import {
  Controller,
  Get,
  Header,
  HttpCode,
  type INestApplication,
  Module,
  Param,
  Post,
  UseFilters,
} from "@nestjs/common";
import { PATH_METADATA } from "@nestjs/common/constants.js";
import { ZkLockManager } from "@zk-dist-lock/core";
import { waitFor } from "@zk-dist-lock/testing";
import { defer, type Observable, throwError } from "rxjs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type ZooKeeper from "zookeeper";
import {
  currentLock,
  DistributedLock,
  DistributedSemaphore,
  LockExceptionFilter,
  ZkLockModule,
} from "../src/index.js";
import { connectClient, createApp, listen, uniqueRoot } from "./helpers.js";

const connect = inject("zkConnect");
const rootDir = uniqueRoot();

@Controller("orders")
class OrdersController {
  // The lock decorator below the route decorators: they see the wrapper.
  @Post(":id/ship")
  @HttpCode(202)
  @Header("x-order-route", "ship")
  @DistributedLock((id: string) => `order:${id}`, { acquireTimeout: 200 })
  async ship(@Param("id") id: string) {
    return { id, token: String(currentLock().token) };
  }

  // The lock decorator above the route decorator: it takes the route metadata over.
  @DistributedLock((id: string) => `order:${id}`, { acquireTimeout: 200 })
  @Get(":id")
  @Header("x-order-route", "show")
  show(@Param("id") id: string) {
    return { id, resource: currentLock().resource };
  }
}

// Counts the runs of a route, to see whether a request whose client left still ran it.
const runs = { waited: 0 };

@Controller("waiting")
class WaitingController {
  @Post(":id")
  @DistributedLock((id: string) => `order:${id}`)
  async run(@Param("id") id: string) {
    runs.waited++;
    return { id };
  }
}

@Controller("filtered")
@UseFilters(LockExceptionFilter)
class FilteredController {
  @Get(":id")
  @DistributedLock((id: string) => `order:${id}`, { acquireTimeout: 200 })
  async get(@Param("id") id: string) {
    return { id };
  }
}

// Routes that return Observables, which Nest subscribes to only once the method has returned.
@Controller("streams")
class StreamsController {
  @Get(":id")
  @DistributedLock((id: string) => `stream:${id}`)
  values(@Param("id") id: string): Observable<unknown> {
    // Runs when subscribed: the other manager sees whether the lock is still held by then.
    return defer(async () => {
      const { holder } = await other.inspect(`stream:${id}`);
      return { held: holder !== undefined, token: String(currentLock().token) };
    });
  }

  @Get(":id/later")
  @DistributedLock((id: string) => `stream:${id}`)
  async later(@Param("id") id: string): Promise<Observable<unknown>> {
    return defer(async () => ({ held: (await other.inspect(`stream:${id}`)).holder !== undefined }));
  }

  @Get(":id/failing")
  @DistributedLock((id: string) => `stream:${id}`)
  failing(): Observable<never> {
    return throwError(() => new Error("the stream failed"));
  }
}

// A semaphore route, and a lock route whose key function may return "": the key errors of both
// decorators are answered alike.
@Controller("quota")
class QuotaController {
  @Get(":id")
  @DistributedSemaphore((id: string) => `quota:${id}`, { permits: 2 })
  async get(@Param("id") id: string) {
    return { id };
  }

  @Get(":id/lock")
  @DistributedLock((id: string) => (id === "none" ? "" : `quota:${id}`))
  async lock(@Param("id") id: string) {
    return { id };
  }
}

function appModule() {
  @Module({
    imports: [ZkLockModule.forRoot({ connect, rootDir })],
    controllers: [
      OrdersController,
      FilteredController,
      WaitingController,
      StreamsController,
      QuotaController,
    ],
  })
  class AppModule {}
  return AppModule;
}

let app: INestApplication;
let url: string;
// Another process holding an order, as another instance of the service would.
let client: ZooKeeper;
let other: ZkLockManager;

beforeAll(async () => {
  app = await createApp(appModule());
  url = await listen(app);
  client = await connectClient(connect);
  other = new ZkLockManager({ rootDir }).init(client);
});

afterAll(async () => {
  await app?.close();
  await other?.close();
  client?.close();
});

/** Runs `fn` while the other manager holds the order. */
const whileHeldElsewhere = <T>(id: string, fn: () => Promise<T>) => other.withLock(`order:${id}`, fn);

describe("a decorated controller route over HTTP", () => {
  it("answers with its route, status code and header metadata intact, in either decorator order", async () => {
    const shipped = await fetch(`${url}/orders/7/ship`, { method: "POST" });
    expect(shipped.status).toBe(202);
    expect(shipped.headers.get("x-order-route")).toBe("ship");
    const body = (await shipped.json()) as { id: string; token: string };
    expect(body.id).toBe("7");
    expect(BigInt(body.token)).toBeGreaterThan(0n);

    const shown = await fetch(`${url}/orders/7`);
    expect(shown.status).toBe(200);
    expect(shown.headers.get("x-order-route")).toBe("show");
    expect(await shown.json()).toEqual({ id: "7", resource: "order:7" });
    expect(Reflect.getMetadata(PATH_METADATA, OrdersController.prototype.show)).toBe(":id");
  });

  it("answers 500 on a lock timeout when no filter maps it", async () => {
    const status = await whileHeldElsewhere("8", async () => (await fetch(`${url}/orders/8`)).status);
    expect(status).toBe(500);
  });

  it("answers 423 Locked with LockExceptionFilter on the controller", async () => {
    const response = await whileHeldElsewhere("9", () => fetch(`${url}/filtered/9`));
    expect(response.status).toBe(423);
    expect(response.headers.get("retry-after")).toBeNull();
    expect(await response.json()).toEqual({
      statusCode: 423,
      error: "Locked",
      message: "The resource is busy; try again later.",
    });
    // Once the other holder is gone, the same route succeeds.
    expect((await fetch(`${url}/filtered/9`)).status).toBe(200);
  });

  it("answers with the chosen status and Retry-After with a global filter built with options", async () => {
    const second = await createApp(appModule());
    try {
      second.useGlobalFilters(
        new LockExceptionFilter({ status: 503, retryAfterSeconds: 2 }, second.getHttpAdapter()),
      );
      const secondUrl = await listen(second);
      const response = await whileHeldElsewhere("10", () => fetch(`${secondUrl}/orders/10`));
      expect(response.status).toBe(503);
      expect(response.headers.get("retry-after")).toBe("2");
      expect(await response.json()).toMatchObject({ statusCode: 503, error: "Service Unavailable" });
    } finally {
      await second.close();
    }
  });

  it("runs a route whose client left while it waited for the lock, once the lock comes", async () => {
    const request = http.request(`${url}/waiting/11`, { method: "POST", agent: false });
    request.on("error", () => {}); // destroyed on purpose
    await whileHeldElsewhere("11", async () => {
      request.end();
      await waitFor(async () => (await other.inspect("order:11")).waiters.length === 1, {
        message: "the request to wait for the lock",
      });
      request.destroy();
    });
    // The decorator knows nothing of the request: the method runs for nobody.
    await waitFor(() => runs.waited === 1, { message: "the abandoned request's method to run" });
    await waitFor(async () => (await other.inspect("order:11")).holder === undefined);
  });

  it("holds the lock until a returned Observable has completed, and answers with its values", async () => {
    const response = await fetch(`${url}/streams/12`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { held: boolean; token: string };
    expect(body.held).toBe(true);
    expect(BigInt(body.token)).toBeGreaterThan(0n);
    expect(await (await fetch(`${url}/streams/12/later`)).json()).toEqual({ held: true });
    expect((await other.inspect("stream:12")).holder).toBeUndefined();
  });

  it("answers 500 and releases when a returned Observable errors", async () => {
    expect((await fetch(`${url}/streams/13/failing`)).status).toBe(500);
    expect((await other.inspect("stream:13")).holder).toBeUndefined();
  });

  it("answers 400 Bad Request, saying why, to a key too long to be a resource, as the Express middleware does", async () => {
    // Over 512 UTF-8 bytes once in the key: core refuses it before any request to ZooKeeper.
    const long = "x".repeat(600);
    for (const path of [`orders/${long}`, `filtered/${long}`, `quota/${long}`, `quota/${long}/lock`]) {
      const response = await fetch(`${url}/${path}`);
      expect(response.status, path.replace(long, "…")).toBe(400);
      const body = (await response.json()) as { statusCode: number; message: string };
      expect(body.statusCode).toBe(400);
      expect(body.message).toMatch(/^The resource is \d+ bytes long; at most 512 UTF-8 bytes are allowed/);
    }
    const empty = await fetch(`${url}/quota/none/lock`);
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { message: string }).message).toContain(
      'The key function of @DistributedLock() on QuotaController.lock returned ""',
    );
    expect(await other.resources({ rootDir })).not.toContain(`quota:${long}`);
  });

  it("refuses filter options that are not an HTTP error status", () => {
    expect(() => new LockExceptionFilter({ status: 200 })).toThrow(RangeError);
    expect(() => new LockExceptionFilter({ retryAfterSeconds: -1 })).toThrow(RangeError);
  });
});
