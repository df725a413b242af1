// Nest and plain Express in one process, sharing one ZkLockManager: `pnpm start:shared`.
import { Ledger } from "./ledger.js";
import { openLockManager } from "./lock-manager.js";
import { createSharedApp } from "./shared-app.js";

const { manager, connect, close } = await openLockManager();
const app = await createSharedApp(manager, new Ledger());
const port = Number(process.env.PORT ?? 3000);
await app.listen(port, "127.0.0.1");
console.log(`Nest + Express on http://127.0.0.1:${port}, locks on ZooKeeper ${connect}`);
console.log(`  curl -X POST 'http://127.0.0.1:${port}/accounts/acc-1/deposit?amount=5'   # Express route`);
console.log(
  `  curl -X POST http://127.0.0.1:${port}/accounts/acc-1/fee                  # Nest @DistributedLock()`,
);
console.log(`  curl -X POST http://127.0.0.1:${port}/accounts/acc-1/close                # both, re-entrant`);

// app.close() leaves the manager alone (the module was given it); close it after the server.
const shutdown = () => void app.close().then(close);
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
