import { randomUUID } from "node:crypto";
import type { INestApplication, Type } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { connectZooKeeper, waitFor } from "@zk-dist-lock/testing";
import type ZooKeeper from "zookeeper";

/** A connected client of the npm `zookeeper` package. */
export const connectClient = (connect: string, timeout = 10_000): Promise<ZooKeeper> =>
  connectZooKeeper(connect, { sessionTimeout: timeout });

/** A root directory no other test uses. */
export const uniqueRoot = () => `/nest-test-${randomUUID().slice(0, 8)}`;

/** A Nest application that fails (rather than aborting the process) when bootstrap fails. */
export function createApp(module: Type): Promise<INestApplication> {
  return NestFactory.create(module, { logger: false, abortOnError: false });
}

/** A Nest application listening on a free loopback port, with its base URL. */
export async function listen(app: INestApplication): Promise<string> {
  await app.listen(0, "127.0.0.1");
  return (await app.getUrl()).replace("[::1]", "127.0.0.1");
}

/**
 * Counts how many callers are inside a critical section at once, and the most there ever were.
 * Overlap shows up as `max > 1`.
 */
export class Witness {
  inside = 0;
  max = 0;
  readonly log: string[] = [];

  async section<T>(who: string, body: () => Promise<T>): Promise<T> {
    this.inside += 1;
    this.max = Math.max(this.max, this.inside);
    this.log.push(`${who} enter`);
    try {
      return await body();
    } finally {
      this.inside -= 1;
      this.log.push(`${who} leave`);
    }
  }

  /**
   * Resolves once `count` callers have been inside together (a latch: the first to see it may leave
   * before the others look); rejects after the deadline.
   */
  together(count: number, timeoutMs = 10_000): Promise<true> {
    return waitFor(() => this.max >= count, {
      timeoutMs,
      intervalMs: 10,
      message: `${count} callers inside at once`,
    });
  }
}
