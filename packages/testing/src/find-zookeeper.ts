import { accessSync, constants, existsSync, readdirSync, statSync } from "node:fs";
import { basename, delimiter, join } from "node:path";
import { ZooKeeperNotFoundError } from "./errors.js";

/** A Java runtime and the class path that runs a ZooKeeper server. */
export interface ZooKeeperInstallation {
  /** Absolute path of the `java` executable. */
  java: string;
  /** Class path entries, in order; pass them to `java -cp` joined with the platform's delimiter. */
  classpath: string[];
  /** Where the jars came from. */
  source: "ZOOKEEPER_CLASSPATH" | "ZOOKEEPER_HOME" | "system";
}

/** The inputs {@link findZooKeeper} searches; every field defaults to this machine's. */
export interface FindZooKeeperOptions {
  /**
   * Environment to read `ZOOKEEPER_CLASSPATH`, `ZOOKEEPER_HOME`, `JAVA_HOME` and `PATH` from.
   * Defaults to `process.env`.
   */
  env?: Record<string, string | undefined>;
  /**
   * Unpacked Apache ZooKeeper releases to try after the environment (the layout of the official
   * tarball: `lib/*.jar`). Defaults to Homebrew's and `/opt/zookeeper`.
   */
  homeCandidates?: string[];
  /** Directories holding a distribution-packaged `zookeeper.jar`. Defaults to Debian/Ubuntu's `/usr/share/java`. */
  systemJarDirs?: string[];
}

const defaultHomeCandidates = [
  "/opt/homebrew/opt/zookeeper/libexec",
  "/usr/local/opt/zookeeper/libexec",
  "/opt/zookeeper",
];
const defaultSystemJarDirs = ["/usr/share/java"];

/** The server jar of a release (`zookeeper-3.8.4.jar`), not its companions (`zookeeper-jute-…`). */
const serverJar = /^zookeeper(-\d[\w.-]*)?\.jar$/;

const installHelp = [
  "Install ZooKeeper in one of these ways, then run the tests again:",
  "  - Debian/Ubuntu: sudo apt-get install zookeeper   (pulls in Java too)",
  "  - macOS: brew install zookeeper",
  "  - Any OS: download Apache ZooKeeper from https://zookeeper.apache.org/releases.html, unpack it and set",
  "    ZOOKEEPER_HOME to the unpacked directory; it needs Java 11 or later (set JAVA_HOME or put java on PATH)",
  "  - Or set ZOOKEEPER_CLASSPATH to the class path of the ZooKeeper server jars.",
  "Tests that use the vitest global setup can instead set ZK_CONNECT to an existing ensemble.",
].join("\n");

let cached: ZooKeeperInstallation | undefined;

/**
 * Finds Java and the ZooKeeper server jars: `ZOOKEEPER_CLASSPATH`, then `ZOOKEEPER_HOME`, then common
 * install locations (Homebrew, `/opt/zookeeper`, the Debian/Ubuntu `zookeeper` package); Java from
 * `JAVA_HOME` or `PATH`. Throws one {@link ZooKeeperNotFoundError} whose message says how to install
 * what is missing. Without options the result is cached for the process.
 *
 * @example
 * ```ts
 * const { java, classpath } = findZooKeeper();
 * // Testable with fake inputs:
 * expect(() => findZooKeeper({ env: {}, homeCandidates: [], systemJarDirs: [] })).toThrow(ZooKeeperNotFoundError);
 * ```
 */
export function findZooKeeper(options?: FindZooKeeperOptions): ZooKeeperInstallation {
  if (options === undefined && cached !== undefined) return cached;
  const env = options?.env ?? process.env;
  const searched: string[] = [];
  const jars = findJars(
    env,
    options?.homeCandidates ?? defaultHomeCandidates,
    options?.systemJarDirs ?? defaultSystemJarDirs,
    searched,
  );
  const java = findJava(env, searched);
  if (jars === undefined) {
    throw new ZooKeeperNotFoundError(
      `ZooKeeper was not found, so @zk-dist-lock/testing cannot start a test server.\nLooked in: ${searched.join("; ")}\n${installHelp}`,
      searched,
    );
  }
  if (java === undefined) {
    throw new ZooKeeperNotFoundError(
      `Java was not found, so @zk-dist-lock/testing cannot start the ZooKeeper server found in ${jars.where}.\nLooked in: ${searched.join("; ")}\nInstall a Java runtime (11 or later; Debian/Ubuntu: sudo apt-get install default-jre-headless) or set JAVA_HOME.\n${installHelp}`,
      searched,
    );
  }
  const found: ZooKeeperInstallation = { java, classpath: jars.classpath, source: jars.source };
  if (options === undefined) cached = found;
  return found;
}

interface FoundJars {
  classpath: string[];
  source: ZooKeeperInstallation["source"];
  where: string;
}

function findJars(
  env: Record<string, string | undefined>,
  homeCandidates: string[],
  systemJarDirs: string[],
  searched: string[],
): FoundJars | undefined {
  const explicit = env.ZOOKEEPER_CLASSPATH;
  if (explicit) {
    searched.push(`ZOOKEEPER_CLASSPATH=${explicit}`);
    const entries = explicit.split(delimiter).filter(Boolean);
    // A `dir/*` entry is Java's own wildcard; it is valid when the directory exists.
    const exists = entries.some((entry) =>
      existsSync(entry.endsWith("*") ? entry.slice(0, -1) || "." : entry),
    );
    if (exists) return { classpath: entries, source: "ZOOKEEPER_CLASSPATH", where: "ZOOKEEPER_CLASSPATH" };
    // An explicit setting that points nowhere is a mistake to report, not to paper over.
    return undefined;
  }
  if (env.ZOOKEEPER_HOME) {
    searched.push(`ZOOKEEPER_HOME=${env.ZOOKEEPER_HOME} (lib/*.jar)`);
    const classpath = releaseJars(env.ZOOKEEPER_HOME);
    return classpath && { classpath, source: "ZOOKEEPER_HOME", where: env.ZOOKEEPER_HOME };
  }
  searched.push("ZOOKEEPER_CLASSPATH and ZOOKEEPER_HOME (unset)");
  for (const home of homeCandidates) {
    searched.push(`${home} (lib/*.jar)`);
    const classpath = releaseJars(home);
    if (classpath) return { classpath, source: "ZOOKEEPER_HOME", where: home };
  }
  for (const dir of systemJarDirs) {
    const jar = join(dir, "zookeeper.jar");
    searched.push(jar);
    if (!isFile(jar)) continue;
    // Debian's zookeeper.jar names its dependencies in its manifest's Class-Path, except a logging
    // backend; log4j 1.2 through slf4j gives the server log that a failed start prints.
    const logging = ["slf4j-log4j12.jar", "log4j-1.2.jar"].map((name) => join(dir, name));
    const classpath = logging.every(isFile) ? [jar, ...logging] : [jar];
    // The manifest also leaves out netty-codec, without which the Netty connection factory (the
    // one that serves a secureClientPort, i.e. TLS) fails on its first connection.
    const nettyCodec = join(dir, "netty-codec.jar");
    if (isFile(nettyCodec)) classpath.push(nettyCodec);
    return { classpath, source: "system", where: jar };
  }
  return undefined;
}

/** The jars of an unpacked release (`lib/*.jar`, and older releases' top-level jar), if it has a server jar. */
function releaseJars(home: string): string[] | undefined {
  const jars: string[] = [];
  for (const dir of [home, join(home, "lib")]) {
    for (const name of listDir(dir)) if (name.endsWith(".jar")) jars.push(join(dir, name));
  }
  return jars.some((jar) => serverJar.test(basename(jar))) ? jars : undefined;
}

function findJava(env: Record<string, string | undefined>, searched: string[]): string | undefined {
  const exe = process.platform === "win32" ? "java.exe" : "java";
  const candidates: string[] = [];
  if (env.JAVA_HOME) candidates.push(join(env.JAVA_HOME, "bin", exe));
  for (const dir of (env.PATH ?? "").split(delimiter)) if (dir) candidates.push(join(dir, exe));
  searched.push(
    env.JAVA_HOME ? `JAVA_HOME=${env.JAVA_HOME}` : "JAVA_HOME (unset)",
    `java on PATH=${env.PATH ?? ""}`,
  );
  return candidates.find(isExecutable);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return isFile(path);
  } catch {
    return false;
  }
}
