import { type DynamicModule, Module } from "@nestjs/common";
import { APP_FILTER } from "@nestjs/core";
import { LockExceptionFilter, ZkLockModule } from "@zk-dist-lock/nest";
import { AccountsController } from "./accounts.controller.js";
import { AccountsService } from "./accounts.service.js";
import { Ledger } from "./ledger.js";

/**
 * The example application: deposits locked per account through `@DistributedLock()`, lock
 * timeouts answered with 423 Locked.
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule.register("127.0.0.1:2181"));
 * ```
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module class with a static register(), as Nest's own dynamic modules have
export class AppModule {
  static register(connect: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The module creates the ZooKeeper client and closes it with the application.
        ZkLockModule.forRootAsync({
          useFactory: () => ({ connect, rootDir: "/example-nest-app/locks", acquireTimeout: 5000 }),
        }),
      ],
      controllers: [AccountsController],
      providers: [AccountsService, Ledger, { provide: APP_FILTER, useClass: LockExceptionFilter }],
    };
  }
}
