// `pnpm bench`: zk-dist-lock against ZooKeeper's floor and Apache Curator, side by side.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startZooKeeper, type ZooKeeperServer } from "@zk-dist-lock/testing";
import { parseCli, usage } from "./options.js";
import { buildReport, renderMarkdown } from "./report.js";
import { runBench } from "./suite.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<number> {
  let cli: ReturnType<typeof parseCli>;
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
  const server: ZooKeeperServer | undefined = process.env.ZK_CONNECT ? undefined : await startZooKeeper();
  const connect = server?.connectString ?? process.env.ZK_CONNECT!;
  log(`ZooKeeper: ${server ? `embedded, ${connect}` : `ZK_CONNECT=${connect}`}`);
  const started = performance.now();
  try {
    const result = await runBench({ connect, ...cli.bench }, log);
    const report = buildReport(result);
    const meta = {
      date: new Date().toISOString().slice(0, 16).replace("T", " "),
      node: process.version,
      cpus: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? "?"}`,
      zookeeper: server ? "embedded standalone (forceSync=no)" : "ZK_CONNECT",
      took: `${Math.round((performance.now() - started) / 1000)} s`,
    };
    const markdown = renderMarkdown(result, report, meta);
    console.log(markdown);
    const out = resolve(cli.out ?? fileURLToPath(new URL("../results", import.meta.url)));
    // The README shows the latest table of a default run; a run elsewhere (--out) leaves it alone.
    if (cli.out === undefined) updateReadme(markdown);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "latest.md"), markdown);
    const json = JSON.stringify({ meta, ...result, ...report }, null, 2);
    writeFileSync(join(out, "latest.json"), `${json}\n`);
    log(`written: ${join(out, "latest.md")}, ${join(out, "latest.json")}`);
    return 0;
  } finally {
    await server?.stop();
  }
}

const README = fileURLToPath(new URL("../README.md", import.meta.url));
const START = "<!-- latest results: written by pnpm bench -->";
const END = "<!-- end of latest results -->";

function updateReadme(markdown: string): void {
  const text = readFileSync(README, "utf8");
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from < 0 || to < from) {
    log(`README.md has no "${START}" section; not updated.`);
    return;
  }
  writeFileSync(README, `${text.slice(0, from + START.length)}\n\n${markdown}\n${text.slice(to)}`);
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
