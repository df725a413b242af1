#!/usr/bin/env node
// zk-dist-lock-testing find | start [--port N] [--ensemble N]
import { delimiter } from "node:path";
import { startEnsemble } from "./ensemble.js";
import { isZooKeeperTestingError } from "./errors.js";
import { findZooKeeper } from "./find-zookeeper.js";
import { startZooKeeper } from "./server.js";

const usage = `Usage: zk-dist-lock-testing <command>
  find                 print the Java and ZooKeeper class path that tests will use (exit 1 if none)
  start [--port N]     start a standalone ZooKeeper server, print its connect string, stop it on Ctrl-C
  start --ensemble N   start an ensemble of N servers instead`;

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "find") {
    const { java, classpath, source } = findZooKeeper();
    console.log(`java: ${java}\nclasspath: ${classpath.join(delimiter)}\nsource: ${source}`);
    return 0;
  }
  if (command === "start") {
    const port = option(rest, "--port");
    const size = option(rest, "--ensemble");
    const running = size !== undefined ? await startEnsemble({ size }) : await startZooKeeper({ port });
    console.log(running.connectString);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await running.stop();
    return 0;
  }
  console.error(usage);
  return command === undefined || command === "--help" || command === "-h" ? 0 : 2;
}

function option(args: string[], name: string): number | undefined {
  const index = args.indexOf(name);
  if (index === -1) return undefined;
  const value = Number(args[index + 1]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} needs a positive integer`);
  return value;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(isZooKeeperTestingError(error) || error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
