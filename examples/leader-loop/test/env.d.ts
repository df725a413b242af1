// Types of inject("zkConnect"), provided by the root vitest global setup.
/// <reference types="@zk-dist-lock/testing/vitest" />
