import { coreContender } from "./src/scenarios/core.js";
import { connectClient, ensurePath, mode, raw } from "./src/zk.js";

const zk = await connectClient("127.0.0.1:21810");
const core = await coreContender("127.0.0.1:21810");
const dir = `/prof-pipe-${Date.now()}`;
await ensurePath(zk, dir);
const N = 2000;
async function seq() {
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const n = await raw.create(zk, `${dir}/lock-`, mode.EPHEMERAL_SEQUENTIAL);
    await raw.children(zk, dir);
    await raw.delete(zk, n);
  }
  return (N * 1000) / (performance.now() - t);
}
async function pipe() {
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const [n] = await Promise.all([
      raw.create(zk, `${dir}/lock-`, mode.EPHEMERAL_SEQUENTIAL),
      raw.children(zk, dir),
    ]);
    await raw.delete(zk, n);
  }
  return (N * 1000) / (performance.now() - t);
}
async function createDelete() {
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const n = await raw.create(zk, `${dir}/lock-`, mode.EPHEMERAL_SEQUENTIAL);
    await raw.delete(zk, n);
  }
  return (N * 1000) / (performance.now() - t);
}
async function c() {
  const r = await core.uncontended(`${dir}/core`, N);
  return (N * 1000) / r.elapsedMs;
}
await seq();
await pipe();
await c();
const cpu = async (f: () => Promise<number>) => {
  const u = process.cpuUsage();
  const r = await f();
  const d = process.cpuUsage(u);
  return `${r.toFixed(0)}/s cpu ${((d.user + d.system) / N).toFixed(0)}us`;
};
for (let r = 0; r < 4; r++)
  console.log("seq", await cpu(seq), "| pipe", await cpu(pipe), "| core", await cpu(c));
zk.close();
await core.close();
