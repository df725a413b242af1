#!/usr/bin/env node
// zk-dist-lock-testing find | start [--port N] [--ensemble N] | proxy <connect> [--latency MS] [--jitter MS]
import { delimiter } from "node:path";
import { startEnsemble } from "./ensemble.js";
import { isZooKeeperTestingError } from "./errors.js";
import { findZooKeeper } from "./find-zookeeper.js";
import { startProxy } from "./proxy.js";
import { startZooKeeper } from "./server.js";

const usage = `Usage: zk-dist-lock-testing <command>
  find                      print the Java and ZooKeeper class path that tests will use (exit 1 if none)
  start [--port N]          run a standalone ZooKeeper server, print its connect string, stop it on Ctrl-C
  start --ensemble N        run an ensemble of N servers instead
  proxy <connect> [--latency MS] [--jitter MS]
                            run a proxy in front of <connect> that delays each way by MS (± jitter),
                            print its connect string, stop on Ctrl-C`;

/** A mistake on the command line: said in one line, with the usage, exit code 2. */
class UsageError extends Error {}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "--help" || command === "-h" || command === "help") {
    console.log(usage);
    return 0;
  }
  if (command === "find") {
    const { java, classpath, source } = findZooKeeper();
    console.log(`java: ${java}\nclasspath: ${classpath.join(delimiter)}\nsource: ${source}`);
    return 0;
  }
  if (command === "start") {
    const port = option(rest, "--port", { integer: true });
    const size = option(rest, "--ensemble", { integer: true });
    const running = size !== undefined ? await startEnsemble({ size }) : await startZooKeeper({ port });
    console.log(running.connectString);
    await untilStopped();
    await running.stop();
    return 0;
  }
  if (command === "proxy") {
    const target = rest[0];
    if (target === undefined || target.startsWith("--")) throw new UsageError("proxy needs a connect string");
    const ms = option(rest, "--latency", { integer: false }) ?? 0;
    const jitterMs = option(rest, "--jitter", { integer: false }) ?? 0;
    const proxy = await startProxy(target, { latency: { ms, jitterMs } });
    console.log(proxy.connectString);
    await untilStopped();
    await proxy.stop();
    return 0;
  }
  throw new UsageError(command === undefined ? "a command is needed" : `unknown command "${command}"`);
}

/** Resolves on Ctrl-C or SIGTERM; meanwhile keeps the process alive (servers and proxies do not). */
function untilStopped(): Promise<void> {
  const keepAlive = setInterval(() => {}, 1 << 30);
  return new Promise((resolve) => {
    const stop = () => {
      clearInterval(keepAlive);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

function option(args: string[], name: string, { integer }: { integer: boolean }): number | undefined {
  const index = args.indexOf(name);
  if (index === -1) return undefined;
  const value = Number(args[index + 1]);
  const valid = integer ? Number.isInteger(value) && value >= 1 : Number.isFinite(value) && value >= 0;
  if (!valid) throw new UsageError(`${name} needs ${integer ? "a positive integer" : "a number >= 0"}`);
  return value;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`zk-dist-lock-testing: ${error.message}\n${usage}`);
      process.exitCode = 2;
      return;
    }
    console.error(isZooKeeperTestingError(error) || error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
