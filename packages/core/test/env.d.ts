// Types of inject("zkConnect"), provided by the root vitest global setup, and of inject("zkClient"),
// which the core projects provide (see vitest.config.ts).
/// <reference types="@zk-dist-lock/testing/vitest" />
import type { ZkClientKind } from "../src/index.js";

declare module "vitest" {
  interface ProvidedContext {
    /** Which client the core project under way runs its managers and test clients on. */
    zkClient: ZkClientKind;
  }
}
