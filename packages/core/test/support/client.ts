import { randomUUID } from "node:crypto";
import { isLockError, ZkLockManager, type ZkLockManagerOptions } from "../../src/index.js";
import { connectClient } from "./zk.js";

/** A manager bound to a fresh connected session of the run's client; `close()` closes both. */
export async function openManager(connect: string, options?: ZkLockManagerOptions) {
  const client = await connectClient(connect, 5000);
  const manager = new ZkLockManager(options).init(client.zk);
  return {
    client,
    manager,
    async close() {
      await manager.close();
      client.close();
    },
  };
}

/** A root directory no other test uses, named after what the test is about. */
export const uniqueRoot = (name = "test") => `/${name}-${randomUUID().slice(0, 8)}`;

/** Resolves once `count` contenders wait behind the holder of `resource`. */
export async function waitUntilWaiting(
  manager: ZkLockManager,
  resource: string,
  rootDir: string,
  count: number,
) {
  const deadline = Date.now() + 10_000;
  while ((await manager.inspect(resource, { rootDir })).waiters.length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} waiters on ${resource} after 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The message of the INVALID_ARGUMENT error `fn` throws at once, or what it did instead. */
export function invalidArgument(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return isLockError(error, "INVALID_ARGUMENT") ? error.message : `other error: ${error}`;
  }
  return "no error";
}
