// One ZooKeeper JVM: its files, its process, and the waiting that tells when it serves.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import type { ConnectionOptions } from "node:tls";
import { ZooKeeperTestingError } from "./errors.js";
import type { ZooKeeperInstallation } from "./find-zookeeper.js";
import { fourLetter } from "./four-letter.js";
import { trackProcess } from "./registry.js";

/** Server settings shared by {@link startZooKeeper} and {@link startEnsemble}. */
export interface ZooKeeperServerOptions {
  /** ZooKeeper's time unit in milliseconds (heartbeats, session bounds). Default 500. */
  tickTime?: number;
  /** Smallest session timeout the server grants, in milliseconds. Default `2 * tickTime`. */
  minSessionTimeout?: number;
  /** Largest session timeout the server grants, in milliseconds. Default 60000. */
  maxSessionTimeout?: number;
  /**
   * How often the server deletes empty container and expired TTL nodes, in milliseconds
   * (`-Dznode.container.checkIntervalMs`). ZooKeeper's default is 60000; tests of container parents want ~100.
   */
  containerCheckIntervalMs?: number;
  /** How many containers the server deletes per minute at most (`-Dznode.container.maxPerMinute`). */
  containerMaxPerMinute?: number;
  /** Extra `zoo.cfg` lines, e.g. `{ snapCount: 1000 }`; they override this package's defaults. */
  config?: Record<string, string | number | boolean>;
  /** Extra Java system properties, e.g. `{ "zookeeper.extendedTypesEnabled": true }`. */
  systemProperties?: Record<string, string | number | boolean>;
  /** JVM options appended after the defaults (`-Xmx256m -XX:+UseSerialGC …`), so they win. */
  jvmOptions?: string[];
  /** How long to wait for the server to serve, in milliseconds. Default 30000 (60000 for an ensemble). */
  startTimeoutMs?: number;
  /** Java and class path to use; default {@link findZooKeeper}(). */
  installation?: ZooKeeperInstallation;
  /** Parent of the temporary directory that holds data, configuration and logs. Default `os.tmpdir()`. */
  tmpDir?: string;
}

export interface JvmServerSpec {
  dir: string;
  host: string;
  clientPort: number;
  /**
   * Makes `clientPort` the server's only port, a TLS one (`secureClientPort`; there is no plain
   * `clientPort`), and the readiness probe a TLS client with these options. The server's own TLS
   * settings are system properties.
   */
  tls?: ConnectionOptions;
  /** Ensemble members: their id and every member's `server.N=` line. */
  quorum?: { myid: number; servers: string[] };
}

const log4jProperties = `log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] %-5p [%t:%C{1}@%L] - %m%n
`;

const logbackXml = `<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{ISO8601} [myid:%X{myid}] %-5level [%thread:%logger{0}@%line] - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE"/></root>
</configuration>
`;

/**
 * `count` distinct loopback ports that were free a moment ago: held open together so that they
 * differ, then released. For a server a test configures itself, or a port where nobody listens.
 *
 * @example
 * ```ts
 * const [nobody] = await freePorts(1);
 * await ZooKeeperClient.connect(`127.0.0.1:${nobody}`); // ECONNREFUSED
 * ```
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once("error", reject);
          server.listen(0, "127.0.0.1", () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("unexpected server address");
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/**
 * Fails with one clear line when `host:port` is taken, before a JVM is started to find out: the JVM
 * would say so in a `BindException` near the end of some 35 lines of log.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "EADDRINUSE" ? portInUse(host, port) : error),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** The error for a client port that something else holds. */
export function portInUse(host: string, port: number): ZooKeeperTestingError {
  return new ZooKeeperTestingError(
    "PORT_IN_USE",
    `Port ${port} on ${host} is already in use; stop what listens there or choose another port.`,
  );
}

// The native `zookeeper` client opens its sockets without close-on-exec, so a JVM started while a
// client of this process is connected inherits that socket and holds it open after the client has
// closed it. epoll then keeps reporting the dead socket under its old descriptor number, which the
// client's next socket reuses: the binding reads "nothing to read" again and again, closes the
// client by itself (-112) although its session lives, and the event loop spins until that JVM
// exits. Test servers are not children of the application in production, so they must not hold
// the tests' connections: where /proc and bash exist, a shell closes every inherited descriptor
// above stderr, then becomes the JVM (same pid, so signals still reach it).
const closeInheritedThenExec =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  'for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; exec "$0" "$@"';
const bash = existsSync("/proc/self/fd") ? ["/bin/bash", "/usr/bin/bash"].find(existsSync) : undefined;

function withoutInheritedDescriptors(command: string, args: string[]): [string, string[]] {
  return bash ? [bash, ["-c", closeInheritedThenExec, command, ...args]] : [command, args];
}

export class JvmServer {
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  readonly logFile: string;
  private readonly dataDir: string;
  private readonly args: string[];
  private readonly probeTls: ConnectionOptions | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private lastPid: number | undefined;
  private stopped = false;
  paused = false;

  constructor(
    private readonly installation: ZooKeeperInstallation,
    spec: JvmServerSpec,
    options: ZooKeeperServerOptions,
  ) {
    this.dir = spec.dir;
    this.host = spec.host;
    this.port = spec.clientPort;
    this.logFile = join(spec.dir, "zookeeper.log");
    const dataDir = join(spec.dir, "data");
    this.dataDir = dataDir;
    this.probeTls = spec.tls;
    mkdirSync(dataDir, { recursive: true });
    const tickTime = options.tickTime ?? 500;
    const config: Record<string, string | number | boolean> = {
      tickTime,
      dataDir,
      [spec.tls ? "secureClientPort" : "clientPort"]: spec.clientPort,
      [spec.tls ? "secureClientPortAddress" : "clientPortAddress"]: spec.host,
      minSessionTimeout: options.minSessionTimeout ?? 2 * tickTime,
      maxSessionTimeout: options.maxSessionTimeout ?? 60_000,
      // Tests open many connections from one address; the default limit is 60.
      maxClientCnxns: 0,
      "4lw.commands.whitelist": "*",
      "admin.enableServer": false,
      // A test server trades durability against power loss for speed; a kill still loses nothing.
      forceSync: "no",
      preAllocSize: 1024,
      ...(spec.quorum && { initLimit: 10, syncLimit: 5, standaloneEnabled: false, reconfigEnabled: false }),
      ...options.config,
    };
    const lines = Object.entries(config).map(([key, value]) => `${key}=${value}`);
    if (spec.quorum) {
      lines.push(...spec.quorum.servers);
      writeFileSync(join(dataDir, "myid"), `${spec.quorum.myid}\n`);
    }
    const configFile = join(spec.dir, "zoo.cfg");
    writeFileSync(configFile, `${lines.join("\n")}\n`);
    writeFileSync(join(spec.dir, "log4j.properties"), log4jProperties);
    writeFileSync(join(spec.dir, "logback.xml"), logbackXml);

    const properties: Record<string, string | number | boolean> = {
      // Marks the process as ours, for `ps` and for humans.
      "zk-dist-lock.testing.dir": spec.dir,
      "log4j.configuration": `file:${join(spec.dir, "log4j.properties")}`,
      "logback.configurationFile": join(spec.dir, "logback.xml"),
      "zookeeper.jmx.log4j.disable": true,
      // An IPv4-only stack starts faster; a server on ::1 needs the IPv6 one.
      "java.net.preferIPv4Stack": !spec.host.includes(":"),
      ...(options.containerCheckIntervalMs !== undefined && {
        "znode.container.checkIntervalMs": options.containerCheckIntervalMs,
      }),
      ...(options.containerMaxPerMinute !== undefined && {
        "znode.container.maxPerMinute": options.containerMaxPerMinute,
      }),
      ...options.systemProperties,
    };
    this.args = [
      // A small heap and a quick start: tests start many short-lived servers on small machines.
      "-Xmx256m",
      "-XX:+UseSerialGC",
      "-XX:TieredStopAtLevel=1",
      "-Xshare:auto",
      ...Object.entries(properties).map(([key, value]) => `-D${key}=${value}`),
      ...(options.jvmOptions ?? []),
      "-cp",
      installation.classpath.join(delimiter),
      "org.apache.zookeeper.server.quorum.QuorumPeerMain",
      configFile,
    ];
  }

  get connectString(): string {
    return this.host.includes(":") ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** The JVM's pid while it runs, else the last one it had. */
  get pid(): number | undefined {
    return this.lastPid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    if (this.stopped)
      throw new ZooKeeperTestingError("NOT_RUNNING", `The server at ${this.connectString} was stopped`);
    if (this.running) return;
    const log = openSync(this.logFile, "a");
    try {
      const [command, args] = withoutInheritedDescriptors(this.installation.java, this.args);
      this.child = spawn(command, args, {
        cwd: this.dir,
        detached: false,
        stdio: ["ignore", log, log],
      });
    } finally {
      closeSync(log);
    }
    const child = this.child;
    // The JVM must not keep this process alive: a test or script that forgets stop() still ends, and
    // the exit hook then kills the JVM. Waiting for its exit takes the reference back (waitForExit).
    child.unref();
    this.paused = false;
    this.lastPid = child.pid;
    trackProcess(child);
    this.exited = new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.once("error", (error) => {
        writeFileSync(this.logFile, `Could not start ${this.installation.java}: ${error.message}\n`, {
          flag: "a",
        });
        resolve();
      });
    });
  }

  /**
   * Resolves once the server answers `srvr` with a mode, i.e. it serves clients, and `conf` names
   * this server's data directory: another server already on the port must not pass for this one.
   * A TLS-only server is asked over TLS, as its clients will reach it.
   */
  async waitUntilServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => {
      exited = true;
    });
    let last = "";
    for (;;) {
      if (exited || !this.running) {
        throw new ZooKeeperTestingError(
          "START_FAILED",
          `ZooKeeper at ${this.connectString} exited while starting. Log (${this.logFile}):\n${this.logTail()}`,
        );
      }
      try {
        const probe = { timeoutMs: 1000, tls: this.probeTls };
        last = await fourLetter(this.host, this.port, "srvr", probe);
        if (/^Mode: (standalone|leader|follower|observer)$/m.test(last)) {
          last = await fourLetter(this.host, this.port, "conf", probe);
          if (last.includes(`dataDir=${this.dataDir}`)) return;
        }
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() >= deadline) {
        throw new ZooKeeperTestingError(
          "START_TIMEOUT",
          `ZooKeeper at ${this.connectString} did not serve within ${timeoutMs} ms (last answer: ${last.trim()}). Log (${this.logFile}):\n${this.logTail()}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Whether the last start failed because a port was taken, which a retry on other ports fixes. */
  portWasTaken(): boolean {
    return /Address already in use|BindException/.test(this.logTail(200));
  }

  pause(): void {
    if (!this.running)
      throw new ZooKeeperTestingError("NOT_RUNNING", `The server at ${this.connectString} is not running`);
    this.child!.kill("SIGSTOP");
    this.paused = true;
  }

  resume(): void {
    if (!this.running)
      throw new ZooKeeperTestingError("NOT_RUNNING", `The server at ${this.connectString} is not running`);
    this.child!.kill("SIGCONT");
    this.paused = false;
  }

  /** The unref'd child does not keep a script alive while it awaits the JVM's end, so ref it meanwhile. */
  private async waitForExit(): Promise<void> {
    this.child?.ref();
    await this.exited;
  }

  /** SIGTERM (ZooKeeper shuts down cleanly), SIGKILL when it takes longer than `graceMs`. */
  async terminate(graceMs = 5000): Promise<void> {
    if (!this.running) return this.exited;
    const child = this.child!;
    child.kill("SIGTERM");
    // A stopped process only acts on SIGTERM once it runs again.
    if (this.paused) child.kill("SIGCONT");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await this.waitForExit();
    clearTimeout(timer);
    this.paused = false;
  }

  async kill(): Promise<void> {
    if (!this.running) return this.exited;
    this.child!.kill("SIGKILL");
    await this.waitForExit();
    this.paused = false;
  }

  /** For good: no restart after this. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    await this.terminate();
  }

  logTail(lines = 40): string {
    try {
      return readFileSync(this.logFile, "utf8")
        .split("\n")
        .slice(-lines - 1)
        .join("\n");
    } catch {
      return "(no log)";
    }
  }
}
