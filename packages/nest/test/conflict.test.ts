// LockExceptionFilter answers CONFLICT with 409 Conflict (and logs it), over HTTP on real
// ZooKeeper: a semaphore of other permits than another instance's, a lock on a semaphore's key, and
// an exclusive method called inside a shared hold.
import {
  Controller,
  Get,
  type INestApplication,
  Injectable,
  Logger,
  Module,
  Put,
  UseFilters,
} from "@nestjs/common";
import { ZkLockManager } from "@zk-dist-lock/core";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import type ZooKeeper from "zookeeper";
import { DistributedLock, DistributedSemaphore, LockExceptionFilter, ZkLockModule } from "../src/index.js";
import { connectClient, createApp, listen, uniqueRoot } from "./helpers.js";

const connect = inject("zkConnect");
const rootDir = uniqueRoot();

@Injectable()
class CartStore {
  @DistributedLock("cart:1")
  async write() {
    return "written";
  }
}

@Controller()
@UseFilters(LockExceptionFilter)
class ConflictController {
  constructor(private readonly carts: CartStore) {}

  @Get("geocode")
  @DistributedSemaphore("geocoder", { permits: 2 })
  async geocode() {
    return "geocoded";
  }

  @Get("geocoder-lock")
  @DistributedLock("geocoder")
  async lockGeocoder() {
    return "locked";
  }

  // Shared, then an exclusive method on the same key: it would wait for its own hold forever.
  @Put("carts/1")
  @DistributedLock("cart:1", { mode: "shared" })
  async put() {
    return this.carts.write();
  }
}

let app: INestApplication;
let url: string;
let client: ZooKeeper;
let other: ZkLockManager;

beforeAll(async () => {
  @Module({
    imports: [ZkLockModule.forRoot({ connect, rootDir })],
    controllers: [ConflictController],
    providers: [CartStore],
  })
  class AppModule {}
  app = await createApp(AppModule);
  url = await listen(app);
  client = await connectClient(connect);
  other = new ZkLockManager({ rootDir }).init(client);
});

afterAll(async () => {
  await app?.close();
  await other?.close();
  client?.close();
});

describe("LockExceptionFilter and CONFLICT", () => {
  it("answers 409 Conflict without the key, logs the error, and leaves no node", async () => {
    const logged = vi.spyOn(Logger.prototype, "error").mockImplementation(() => {});
    try {
      // Another instance, deployed with 3 permits, holds a permit of "geocoder".
      const responses = await other.withSemaphore(
        "geocoder",
        async () => {
          const answers = [await fetch(`${url}/geocode`), await fetch(`${url}/geocoder-lock`)];
          const { holders, waiters } = await other.inspect("geocoder");
          expect([holders.length, waiters.length]).toEqual([1, 0]);
          return answers;
        },
        { permits: 3 },
      );
      responses.push(await fetch(`${url}/carts/1`, { method: "PUT" }));
      for (const response of responses) {
        expect(response.status).toBe(409);
        expect(response.headers.get("retry-after")).toBeNull();
        expect(await response.json()).toEqual({
          statusCode: 409,
          error: "Conflict",
          message: "The request conflicts with how the resource is held; see the server log.",
        });
      }
      const messages = logged.mock.calls.map(([message]) => message);
      expect(messages).toHaveLength(3);
      expect(messages[0]).toMatch(/"geocoder".*permits/);
      expect(messages[2]).toMatch(/^Refused on "cart:1": this async call chain holds it shared/);
      expect((await other.inspect("cart:1")).holder).toBeUndefined();
    } finally {
      logged.mockRestore();
    }
  });
});
