// Types of inject("zkConnect"), provided by the root vitest global setup.
import type {} from "@zk-dist-lock/testing/vitest";
