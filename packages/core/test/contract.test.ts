// The shared lock contract, run through core's own withLock(): the baseline that the Nest and
// Express integrations must match.
import { describeLockContract } from "@zk-dist-lock/lock-contract";
import { ZkLockManager } from "../src/index.js";

describeLockContract(
  "core withLock()",
  async (manager, rootDir) => ({
    run: (key, work) => manager.withLock(key, ({ token }) => work(token), { rootDir }),
    close: async () => {},
  }),
  { createManager: () => new ZkLockManager() },
);
