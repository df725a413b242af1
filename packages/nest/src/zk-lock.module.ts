import {
  type DynamicModule,
  Inject,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from "@nestjs/common";
import { ZkLockManager } from "@zk-dist-lock/core";
import { ZK_LOCK_BINDING, ZK_LOCK_MODULE_OPTIONS } from "./zk-lock.constants.js";
import { ZkLockHealthIndicator } from "./zk-lock.health.js";
import { openBinding, type ZkLockBinding } from "./zk-lock-binding.js";
import type {
  ZkLockModuleAsyncOptions,
  ZkLockModuleOptions,
  ZkLockRegistration,
} from "./zk-lock-options.interface.js";

const sharedProviders: Provider[] = [
  { provide: ZK_LOCK_BINDING, useFactory: openBinding, inject: [ZK_LOCK_MODULE_OPTIONS] },
  {
    provide: ZkLockManager,
    useFactory: (binding: ZkLockBinding) => binding.manager,
    inject: [ZK_LOCK_BINDING],
  },
  ZkLockHealthIndicator,
];

/**
 * Provides a `ZkLockManager` (injectable by its class) to the application and to every
 * `@DistributedLock()`, `@LeaderOnly()` and `@OncePerFiring()` method, and a
 * `ZkLockHealthIndicator`. Global by default. With `connect`, bootstrap waits for the first session
 * (up to `connectTimeout`) unless `waitForConnection` is false, and the manager opens a new session
 * by itself whenever one ends. At bootstrap its `@LeaderOnly()` elections start campaigning; at
 * shutdown they resign, then it closes
 * what it created: the manager (releasing its holds) and, with `connect`, the client; never a
 * client or manager it was given.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [ZkLockModule.forRoot({ connect: "127.0.0.1:2181", rootDir: "/shop/locks", acquireTimeout: 5000 })],
 *   providers: [OrderService],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
export class ZkLockModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(ZK_LOCK_BINDING) private readonly binding: ZkLockBinding) {}

  /**
   * Registers the module with options known up front.
   *
   * @example
   * ```ts
   * ZkLockModule.forRoot({ manager: sharedManager }); // the manager the Express routes use too
   * ```
   */
  static forRoot(options: ZkLockModuleOptions & ZkLockRegistration): DynamicModule {
    const { isGlobal, ...lockOptions } = options;
    return register(isGlobal, [], {
      provide: ZK_LOCK_MODULE_OPTIONS,
      useValue: lockOptions,
    });
  }

  /**
   * Registers the module with options made by a factory from injected providers.
   *
   * @example
   * ```ts
   * ZkLockModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ connect: config.getOrThrow("ZK_CONNECT") }),
   * });
   * ```
   */
  static forRootAsync(options: ZkLockModuleAsyncOptions): DynamicModule {
    return register(options.isGlobal, options.imports ?? [], {
      provide: ZK_LOCK_MODULE_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    });
  }

  /** Starts the elections of the `@LeaderOnly()` methods; Nest calls it once the application is ready. */
  onApplicationBootstrap(): void {
    this.binding.elections.start();
  }

  /** Resigns the elections, then closes the manager and client the module created; Nest calls it from `app.close()`. */
  async onApplicationShutdown(): Promise<void> {
    await this.binding.close();
  }
}

function register(
  isGlobal: boolean | undefined,
  imports: NonNullable<DynamicModule["imports"]>,
  optionsProvider: Provider,
): DynamicModule {
  return {
    module: ZkLockModule,
    global: isGlobal ?? true,
    imports,
    providers: [optionsProvider, ...sharedProviders],
    exports: [ZkLockManager, ZK_LOCK_BINDING, ZK_LOCK_MODULE_OPTIONS, ZkLockHealthIndicator],
  };
}
