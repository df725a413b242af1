import type { ZkLockManager } from "@zk-dist-lock/core";
import { distributedLock, getLock } from "@zk-dist-lock/express";
import { Router } from "express";
import type { Ledger } from "./ledger.js";

/**
 * Plain Express routes on the ledger. A deposit holds the lock on `account:<id>` for the whole
 * request, so concurrent deposits to one account, from this process or any other, never lose each
 * other's update.
 *
 * @example
 * ```ts
 * app.use(accountsRouter(manager, new Ledger()));
 * // curl -X POST 'localhost:3000/accounts/acc-1/deposit?amount=5'
 * ```
 */
export function accountsRouter(manager: ZkLockManager, ledger: Ledger): Router {
  const router = Router();
  router.post(
    "/accounts/:id/deposit",
    distributedLock<{ id: string }>(manager, { key: (req) => `account:${req.params.id}` }),
    async (req, res) => {
      const amount = Number(req.query.amount ?? 1);
      if (!Number.isSafeInteger(amount) || amount <= 0) {
        res.status(400).json({ error: "amount must be a positive whole number" });
        return;
      }
      const { token, signal } = getLock(res);
      const balance = await ledger.update(req.params.id, token, (b) => b + amount, signal);
      res.json({ balance, token: String(token) });
    },
  );
  router.get("/accounts/:id", (req, res) => {
    res.json({ balance: ledger.balance(req.params.id) });
  });
  return router;
}
