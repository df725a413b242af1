import { Inject, Injectable } from "@nestjs/common";
import { currentLock, DistributedLock } from "@zk-dist-lock/nest";
import { Ledger } from "./ledger.js";

/** Deposits one account at a time across every instance of the app, with fenced writes. */
@Injectable()
export class AccountsService {
  // An explicit token: tsx (esbuild) does not emit the parameter types Nest injects by.
  constructor(@Inject(Ledger) private readonly ledger: Ledger) {}

  @DistributedLock((accountId: string) => `account:${accountId}`)
  async deposit(accountId: string, amount: number) {
    const { token, signal } = currentLock();
    signal.throwIfAborted();
    const balance = await this.ledger.update(accountId, token, (current) => current + amount);
    return { accountId, balance, token: String(token) };
  }

  balance(accountId: string) {
    return { accountId, balance: this.ledger.balance(accountId) };
  }
}
