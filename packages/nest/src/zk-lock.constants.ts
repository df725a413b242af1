/**
 * Injection token of the options given to `ZkLockModule.forRoot()` (or returned by the
 * `forRootAsync()` factory). The manager itself is provided under the `ZkLockManager` class.
 *
 * @example
 * ```ts
 * constructor(@Inject(ZK_LOCK_MODULE_OPTIONS) options: ZkLockModuleOptions) {}
 * ```
 */
export const ZK_LOCK_MODULE_OPTIONS = Symbol.for("@zk-dist-lock/nest:module-options");

/**
 * Internal token: what the module opened (manager, decorator defaults, what to close). Registered
 * with `Symbol.for` so that a second loaded copy of this package still finds the module's provider.
 */
export const ZK_LOCK_BINDING = Symbol.for("@zk-dist-lock/nest:binding");
