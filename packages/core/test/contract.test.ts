// The shared lock contract, run through core's own withLock() and withSemaphore(), on the run's
// client: the baseline that the Nest and Express integrations must match.
import { describeLockContract, holdWithManager } from "@zk-dist-lock/lock-contract";
import { ZkLockManager } from "../src/index.js";
import { clientKind } from "./support/kind.js";
import { connectClient } from "./support/zk.js";

describeLockContract(
  `core withLock() and withSemaphore() on ${clientKind}`,
  async (manager, rootDir) => ({
    run: (key, hold, work) => holdWithManager(manager, key, hold, { rootDir }, ({ token }) => work(token)),
    close: async () => {},
  }),
  {
    createManager: () => new ZkLockManager(),
    connectClient: async (connect) => {
      const { zk, close } = await connectClient(connect);
      return { client: zk, close };
    },
  },
);
