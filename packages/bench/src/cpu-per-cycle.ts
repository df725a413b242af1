// CPU time per uncontended acquire + release cycle of core, after 1000 cycles of warm-up, on each
// of its two ZooKeeper clients (@zk-dist-lock/client and the npm zookeeper binding), against one
// local server: the figure the client issue (#15) asks to compare. Prints a table; changes nothing.
// Usage: pnpm --filter @zk-dist-lock/bench cpu [cycles] [rounds]   (defaults 2000 and 3)
import { type ZkClientKind, ZkLockManager } from "@zk-dist-lock/core";
import { startZooKeeper } from "@zk-dist-lock/testing";

const cycles = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 3);
const kinds: ZkClientKind[] = ["@zk-dist-lock/client", "zookeeper"];

const server = process.env.ZK_CONNECT ? undefined : await startZooKeeper();
const connect = process.env.ZK_CONNECT ?? server!.connectString;

/** CPU µs and wall ms per cycle over `cycles` cycles of one lock, after a warm-up. */
async function measure(kind: ZkClientKind, round: number): Promise<{ cpuUs: number; wallMs: number }> {
  const manager = await ZkLockManager.connect(connect, { client: kind, rootDir: `/cpu-${round}` });
  try {
    const lock = manager.createLock(kind.replace(/\W/g, "-"));
    for (let i = 0; i < 1000; i++) {
      await lock.acquire();
      await lock.release();
    }
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < cycles; i++) {
      await lock.acquire();
      await lock.release();
    }
    const { user, system } = process.cpuUsage(cpu);
    return { cpuUs: (user + system) / cycles, wallMs: (performance.now() - start) / cycles };
  } finally {
    await manager.close();
  }
}

const results = new Map<ZkClientKind, { cpuUs: number; wallMs: number }[]>(kinds.map((k) => [k, []]));
for (let round = 1; round <= rounds; round++) {
  // Alternate the order, so that neither client always runs on a warmer server.
  for (const kind of round % 2 ? kinds : [...kinds].reverse())
    results.get(kind)!.push(await measure(kind, round));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`${cycles} uncontended cycles × ${rounds} rounds, median (min–max)`);
console.log("| client | CPU µs / cycle | wall ms / cycle |\n| --- | --- | --- |");
for (const [kind, samples] of results) {
  const cpu = samples.map((s) => s.cpuUs);
  const wall = samples.map((s) => s.wallMs);
  const range = (v: number[], digits: number) =>
    `${median(v).toFixed(digits)} (${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)})`;
  console.log(`| ${kind} | ${range(cpu, 0)} | ${range(wall, 3)} |`);
}
await server?.stop();
