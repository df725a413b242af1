import type ZooKeeper from "zookeeper";
import { connectClient, ensurePath, mode, raw } from "../zk.js";
import { type Contender, type CycleSample, cpuMsSince } from "./types.js";

/**
 * The least a correct uncontended ZooKeeper lock must do, by hand with the same client and
 * strictly one request at a time: create an ephemeral sequential node, list the children to see
 * that it is first, delete it. For a never-used resource, create the (container) parent first.
 * There is no contended floor: waiting correctly is what a lock recipe is.
 */
export async function floorContender(connect: string): Promise<Contender> {
  const client = await connectClient(connect);
  const cycle = async (dir: string) => {
    const node = await raw.create(client, `${dir}/lock-`, mode.EPHEMERAL_SEQUENTIAL);
    await raw.children(client, dir);
    await raw.delete(client, node);
  };
  return {
    name: "floor",
    async uncontended(path, cycles): Promise<CycleSample> {
      await ensurePath(client, path);
      const latenciesMs: number[] = [];
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < cycles; i++) {
        const t0 = performance.now();
        await cycle(path);
        latenciesMs.push(performance.now() - t0);
      }
      return { elapsedMs: performance.now() - start, latenciesMs, cpuMs: cpuMsSince(cpu) };
    },
    async many(root, count) {
      await ensurePath(client, root);
      const start = performance.now();
      for (let i = 0; i < count; i++) {
        const dir = `${root}/r${i}`;
        await raw.create(client, dir, mode.CONTAINER);
        await cycle(dir);
      }
      return performance.now() - start;
    },
    async close() {
      client.close();
    },
  };
}

/** p50/p99 latency of each single request, in milliseconds. */
export type RawOpLatencies = Record<RawOp, { p50Ms: number; p99Ms: number }>;
export type RawOp = "create" | "get_children" | "exists" | "delete" | "create ∥ get_children";

/**
 * Times each raw request on its own, `samples` times, on the floor's kind of nodes; and the
 * create and the listing sent together, which is the one round trip core's acquire makes.
 */
export async function rawOpLatencies(
  client: ZooKeeper,
  dir: string,
  samples: number,
): Promise<Record<RawOp, number[]>> {
  await ensurePath(client, dir);
  const out: Record<RawOp, number[]> = {
    create: [],
    get_children: [],
    exists: [],
    delete: [],
    "create ∥ get_children": [],
  };
  const time = async <T>(op: RawOp, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await work();
    out[op].push(performance.now() - t0);
    return result;
  };
  for (let i = 0; i < samples; i++) {
    const node = await time("create", () => raw.create(client, `${dir}/lock-`, mode.EPHEMERAL_SEQUENTIAL));
    await time("get_children", () => raw.children(client, dir));
    await time("exists", () => raw.exists(client, node));
    await time("delete", () => raw.delete(client, node));
    const [pipelined] = await time("create ∥ get_children", () =>
      Promise.all([raw.create(client, `${dir}/lock-`, mode.EPHEMERAL_SEQUENTIAL), raw.children(client, dir)]),
    );
    await raw.delete(client, pipelined);
  }
  return out;
}
