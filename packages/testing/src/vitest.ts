// Loads vitest's types so that the augmentation below has a module to augment; erased at runtime.
import type {} from "vitest";
import { type StartZooKeeperOptions, startZooKeeper } from "./server.js";

declare module "vitest" {
  interface ProvidedContext {
    /** Connect string of the ZooKeeper server shared by this test run (or `ZK_CONNECT`). */
    zkConnect: string;
    /**
     * The pid of that server's JVM, for a test that reads its CPU time; absent with `ZK_CONNECT`.
     * Other tests share the server: never pause or stop it.
     */
    zkServerPid?: number;
  }
}

/** The part of vitest's `TestProject` a global setup uses. */
export interface ZooKeeperGlobalSetupContext {
  provide(key: "zkConnect", value: string): void;
  provide(key: "zkServerPid", value: number): void;
}

/**
 * Builds a vitest global setup that starts one standalone ZooKeeper server per test run, provides its
 * connect string as `zkConnect` and its JVM's pid as `zkServerPid`, and stops it after the run. When
 * `ZK_CONNECT` is set, it provides that ensemble's connect string instead and starts nothing.
 *
 * @example
 * ```ts
 * // test/zookeeper.setup.ts (listed in vitest.config.ts: test.globalSetup)
 * import { zooKeeperGlobalSetup } from "@zk-dist-lock/testing/vitest";
 * export default zooKeeperGlobalSetup({ containerCheckIntervalMs: 100 });
 *
 * // in a test
 * import { inject } from "vitest";
 * const connect = inject("zkConnect");
 * ```
 */
export function zooKeeperGlobalSetup(
  options?: StartZooKeeperOptions,
): (project: ZooKeeperGlobalSetupContext) => Promise<() => Promise<void>> {
  return async (project) => {
    const existing = process.env.ZK_CONNECT;
    if (existing) {
      project.provide("zkConnect", existing);
      return async () => {};
    }
    const server = await startZooKeeper(options);
    project.provide("zkConnect", server.connectString);
    if (server.pid !== undefined) project.provide("zkServerPid", server.pid);
    return () => server.stop();
  };
}

/**
 * A ready-made global setup with default options: `export { default } from "@zk-dist-lock/testing/vitest";`
 *
 * @example
 * ```ts
 * // test/zookeeper.setup.ts
 * export { default } from "@zk-dist-lock/testing/vitest";
 * ```
 */
const setup: (project: ZooKeeperGlobalSetupContext) => Promise<() => Promise<void>> = zooKeeperGlobalSetup();
export default setup;
