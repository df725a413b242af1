// Plain Express: `pnpm start` (set ZK_CONNECT to use your ZooKeeper, PORT to pick the port).
import express from "express";
import { accountsRouter } from "./accounts-router.js";
import { Ledger } from "./ledger.js";
import { openLockManager } from "./lock-manager.js";

const { manager, connect, close } = await openLockManager();
const app = express();
app.use(accountsRouter(manager, new Ledger()));
const port = Number(process.env.PORT ?? 3000);
const server = app.listen(port, "127.0.0.1", () => {
  console.log(`Express on http://127.0.0.1:${port}, locks on ZooKeeper ${connect}`);
  console.log(`  curl -X POST 'http://127.0.0.1:${port}/accounts/acc-1/deposit?amount=5'`);
});

// Stop taking requests first, then release the holds and close the session.
const shutdown = () => server.close(() => void close());
process.once("SIGINT", shutdown);
process.once("SIGTERM", shutdown);
