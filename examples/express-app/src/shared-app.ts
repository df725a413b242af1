import "reflect-metadata";
import {
  Controller,
  type INestApplication,
  Inject,
  Injectable,
  Module,
  Param,
  Post,
  Res,
} from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import type { NestExpressApplication } from "@nestjs/platform-express";
import type { ZkLockManager } from "@zk-dist-lock/core";
import { distributedLock, getLock } from "@zk-dist-lock/express";
import { currentLock, DistributedLock, LockExceptionFilter, ZkLockModule } from "@zk-dist-lock/nest";
import type { Response } from "express";
import { accountsRouter } from "./accounts-router.js";
import { Ledger } from "./ledger.js";

// Explicit @Inject() tokens throughout: tsx and other esbuild-based runners do not emit the
// constructor parameter types that Nest would otherwise inject by.

@Injectable()
class AccountService {
  constructor(@Inject(Ledger) private readonly ledger: Ledger) {}

  /** A monthly fee: locked by the Nest decorator, on the same resource as the Express deposits. */
  @DistributedLock((id: string) => `account:${id}`)
  async chargeFee(id: string) {
    const { token, signal } = currentLock();
    return { balance: await this.ledger.update(id, token, (b) => b - 1, signal) };
  }

  /** Closing empties the account; the HTTP route runs it behind the Express middleware too. */
  @DistributedLock((id: string) => `account:${id}`)
  async close(id: string) {
    const { token, signal } = currentLock();
    await this.ledger.update(id, token, () => 0, signal);
    return token;
  }
}

@Controller("accounts")
class AccountController {
  constructor(@Inject(AccountService) private readonly accounts: AccountService) {}

  @Post(":id/fee")
  fee(@Param("id") id: string) {
    return this.accounts.chargeFee(id);
  }

  @Post(":id/close")
  async close(@Param("id") id: string, @Res({ passthrough: true }) res: Response) {
    // The middleware took account:<id> before Nest saw the request; the decorated method re-enters
    // that hold (same manager, same resource) instead of waiting for it.
    const middlewareToken = getLock(res).token;
    const serviceToken = await this.accounts.close(id);
    return { closed: true, reentered: serviceToken === middlewareToken, token: String(serviceToken) };
  }
}

/**
 * One process, one `ZkLockManager`: a Nest application whose `@DistributedLock()` methods use it
 * through `ZkLockModule.forRoot({ manager })`, plain Express routes that use it through
 * `distributedLock()`, and the middleware in front of a Nest route, which the route's decorated
 * service method re-enters.
 *
 * @example
 * ```ts
 * const app = await createSharedApp(manager, new Ledger());
 * await app.listen(3000);
 * ```
 */
export async function createSharedApp(manager: ZkLockManager, ledger: Ledger): Promise<INestApplication> {
  @Module({
    imports: [ZkLockModule.forRoot({ manager })],
    controllers: [AccountController],
    providers: [AccountService, { provide: Ledger, useValue: ledger }],
  })
  class AppModule {}

  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: ["error", "warn"] });
  // Timeouts of @DistributedLock() methods answer 423, like the Express middleware's default.
  app.useGlobalFilters(new LockExceptionFilter({}, app.getHttpAdapter()));
  // Express routes added before Nest registers its own (at init) run first.
  const express = app.getHttpAdapter().getInstance();
  express.use(accountsRouter(manager, ledger));
  express.post("/accounts/:id/close", distributedLock(manager, { key: (req) => `account:${req.params.id}` }));
  return app;
}
