// `pnpm bench`: zk-dist-lock against ZooKeeper's floor and Apache Curator, side by side, on
// loopback and over a network; `pnpm bench --capacity`: what a 3-member ensemble carries.
import os from "node:os";
import { startZooKeeper, type ZooKeeperServer } from "@zk-dist-lock/testing";
import { type CapacityOptions, renderCapacity, runCapacity } from "./capacity.js";
import { type CliOptions, parseCli, usage } from "./options.js";
import { buildReport, type Measured, networkName, renderMarkdown } from "./report.js";
import { saveReport } from "./results.js";
import { runBench } from "./suite.js";
import { SERVER_JVM } from "./zk.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    log(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (cli.help) {
    console.log(usage);
    return 0;
  }
  if (cli.capacity) return capacity(cli, cli.capacity);
  const server: ZooKeeperServer | undefined = process.env.ZK_CONNECT
    ? undefined
    : await startZooKeeper({ jvmOptions: SERVER_JVM });
  const connect = server?.connectString ?? process.env.ZK_CONNECT!;
  log(`ZooKeeper: ${server ? `embedded, ${connect}` : `ZK_CONNECT=${connect}`}`);
  const started = performance.now();
  try {
    const networks: Measured[] = [];
    for (const rttMs of cli.rtts) {
      log(`— ${networkName(rttMs)} —`);
      // Memory and the integrations' overhead are CPU figures: the network does not change them.
      const loopbackOnly = rttMs > 0 ? { integrationCycles: 0, memoryLocks: 0 } : {};
      const options = { connect, serverPid: server?.pid, ...cli.bench, rttMs, ...loopbackOnly };
      const result = await runBench(options, log);
      networks.push({ result, report: buildReport(result) });
    }
    const meta = {
      ...machine(),
      zookeeper: server ? "embedded standalone (forceSync=no, C2)" : "ZK_CONNECT",
      took: `${Math.round((performance.now() - started) / 1000)} s`,
    };
    const markdown = renderMarkdown(networks, meta);
    console.log(markdown);
    const json = { meta, networks: networks.map(({ result, report }) => ({ ...result, ...report })) };
    log(`written: ${saveReport("latest", markdown, json, cli).join(", ")}`);
    return 0;
  } finally {
    await server?.stop();
  }
}

async function capacity(cli: CliOptions, options: CapacityOptions): Promise<number> {
  if (process.env.ZK_CONNECT) log("--capacity starts its own ensemble; ZK_CONNECT is not used.");
  const started = performance.now();
  const result = await runCapacity(options, log);
  const meta = {
    ...machine(),
    zookeeper: "3-member ensemble on this machine (forceSync=yes)",
    took: `${Math.round((performance.now() - started) / 1000)} s`,
  };
  const markdown = renderCapacity(result, meta);
  console.log(markdown);
  log(`written: ${saveReport("capacity", markdown, { meta, ...result }, cli).join(", ")}`);
  return 0;
}

const machine = () => ({
  date: new Date().toISOString().slice(0, 16).replace("T", " "),
  node: process.version,
  cpus: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? "?"}`,
});

main().then(
  (code) => process.exit(code),
  (error) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
