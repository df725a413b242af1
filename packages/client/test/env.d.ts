// Types of inject("zkConnect"), provided by the root vitest global setup: the setup module
// declares them, so importing its types is enough.
import type {} from "@zk-dist-lock/testing/vitest";
