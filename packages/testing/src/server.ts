import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import { ZooKeeperTestingError } from "./errors.js";
import { findZooKeeper } from "./find-zookeeper.js";
import {
  assertPortFree,
  freePorts,
  JvmServer,
  portInUse,
  type ZooKeeperServerOptions,
} from "./jvm-server.js";
import { removeDir, trackDir } from "./registry.js";

/** Options of {@link startZooKeeper}. */
export interface StartZooKeeperOptions extends ZooKeeperServerOptions {
  /** Client port on `host`. Default: a free port (retried on a clash). */
  port?: number;
  /**
   * The loopback address the client port listens on: `"127.0.0.1"` (the default) or `"::1"`, for
   * tests of IPv6 connect strings (`connectString` is then `[::1]:<port>`).
   */
  host?: "127.0.0.1" | "::1";
}

/** A running standalone ZooKeeper server; see {@link startZooKeeper}. */
export interface ZooKeeperServer extends AsyncDisposable {
  /** `127.0.0.1:<port>` (or `[::1]:<port>`), for a ZooKeeper client. */
  readonly connectString: string;
  readonly host: string;
  readonly port: number;
  /** The temporary directory holding `zoo.cfg`, `data/` and `zookeeper.log`; removed by {@link stop}. */
  readonly dir: string;
  /** The server log (the JVM's output), kept across restarts. */
  readonly logFile: string;
  /** The JVM's pid while it runs, else the pid it last had. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Whether {@link pause} stopped the JVM. */
  readonly paused: boolean;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port with the same data; resolves when it serves. */
  restart(): Promise<void>;
  /** SIGKILLs the JVM, like a crash; {@link restart} brings it back with its data. */
  kill(): Promise<void>;
  /** Freezes the JVM (SIGSTOP): connections stay open but nothing is answered, like a hung server. */
  pause(): void;
  /** Lets a paused JVM run again (SIGCONT). */
  resume(): void;
  /** The last lines of the server log, for failure messages. */
  logTail(lines?: number): string;
}

/**
 * Starts a standalone ZooKeeper server on a free loopback port with a temporary data directory, and
 * resolves once it serves (it answers the `srvr` four-letter command with a mode). The server is
 * killed and its directory removed when the process exits, even if `stop()` is never called.
 *
 * @example
 * ```ts
 * const zk = await startZooKeeper({ tickTime: 200, containerCheckIntervalMs: 100 });
 * try {
 *   const client = new ZooKeeper({ connect: zk.connectString, timeout: 5000 });
 *   // …
 *   zk.pause(); // the server hangs
 *   zk.resume();
 *   await zk.restart(); // same port, same data
 * } finally {
 *   await zk.stop();
 * }
 * // or: await using zk = await startZooKeeper();
 * ```
 */
export function startZooKeeper(options: StartZooKeeperOptions = {}): Promise<ZooKeeperServer> {
  return startStandalone(options);
}

/**
 * {@link startZooKeeper}, or with `tls` a server whose only port is a TLS one, probed with these
 * client options (see `JvmServerSpec.tls`); for startTlsZooKeeper, which adds the server's side.
 */
export async function startStandalone(
  options: StartZooKeeperOptions,
  tls?: ConnectionOptions,
): Promise<ZooKeeperServer> {
  const { port: fixedPort, host = "127.0.0.1" } = options;
  if (host !== "127.0.0.1" && host !== "::1") {
    throw new ZooKeeperTestingError(
      "INVALID_ARGUMENT",
      `startZooKeeper: host must be "127.0.0.1" or "::1", got ${JSON.stringify(host)}`,
    );
  }
  if (fixedPort !== undefined && !(Number.isInteger(fixedPort) && fixedPort >= 1 && fixedPort <= 65535)) {
    throw new ZooKeeperTestingError(
      "INVALID_ARGUMENT",
      `startZooKeeper: port must be an integer from 1 to 65535, got ${fixedPort}`,
    );
  }
  const installation = options.installation ?? findZooKeeper();
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  const dir = mkdtempSync(join(options.tmpDir ?? tmpdir(), "zk-testing-"));
  trackDir(dir);
  try {
    if (options.port !== undefined) await assertPortFree(host, options.port);
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePorts(1))[0]!;
      const jvm = new JvmServer(installation, { dir, host, clientPort: port, tls }, options);
      try {
        jvm.start();
        await jvm.waitUntilServing(startTimeoutMs);
        return new StandaloneServer(jvm, startTimeoutMs);
      } catch (error) {
        await jvm.kill();
        // Another process may take a free port between our probe and the JVM's bind.
        if (!jvm.portWasTaken()) throw error;
        if (options.port !== undefined) throw portInUse(host, port);
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    removeDir(dir);
    throw error;
  }
}

class StandaloneServer implements ZooKeeperServer {
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly jvm: JvmServer,
    private readonly startTimeoutMs: number,
  ) {}

  get connectString() {
    return this.jvm.connectString;
  }
  get host() {
    return this.jvm.host;
  }
  get port() {
    return this.jvm.port;
  }
  get dir() {
    return this.jvm.dir;
  }
  get logFile() {
    return this.jvm.logFile;
  }
  get pid() {
    return this.jvm.pid;
  }
  get running() {
    return this.jvm.running;
  }
  get paused() {
    return this.jvm.paused;
  }

  stop(): Promise<void> {
    this.stopping ??= this.jvm.shutdown().then(() => removeDir(this.jvm.dir));
    return this.stopping;
  }

  async restart(): Promise<void> {
    if (this.stopping)
      throw new ZooKeeperTestingError("NOT_RUNNING", `The server at ${this.connectString} was stopped`);
    await this.jvm.terminate();
    this.jvm.start();
    await this.jvm.waitUntilServing(this.startTimeoutMs);
  }

  kill(): Promise<void> {
    return this.jvm.kill();
  }

  pause(): void {
    this.jvm.pause();
  }

  resume(): void {
    this.jvm.resume();
  }

  logTail(lines?: number): string {
    return this.jvm.logTail(lines);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
