import { ensurePath, mode, openRequests, type Requests } from "../zk.js";
import { type ClientKind, type Contender, type CycleSample, cpuMsSince } from "./types.js";

/**
 * The least a correct uncontended ZooKeeper lock must do, by hand with the client of `kind` and
 * strictly one request at a time: create an ephemeral sequential node, list the children to see
 * that it is first, delete it. For a never-used resource, create the (container) parent first.
 * There is no contended floor: waiting correctly is what a lock recipe is.
 */
export async function floorContender(connect: string, kind: ClientKind): Promise<Contender> {
  const client = await openRequests(connect, kind);
  const cycle = async (dir: string) => {
    const node = await client.create(`${dir}/lock-`, mode.EPHEMERAL_SEQUENTIAL);
    await client.children(dir);
    await client.delete(node);
  };
  return {
    name: `floor-${kind}`,
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
        await client.create(dir, mode.CONTAINER);
        await cycle(dir);
      }
      return performance.now() - start;
    },
    close: () => client.close(),
  };
}

/** p50/p99 latency of each single request, in milliseconds. */
export type RawOpLatencies = Record<RawOp, { p50Ms: number; p99Ms: number }>;
export type RawOp = "create" | "get_children" | "exists" | "delete" | "create ∥ get_children";

/**
 * Times each raw request of `client` on its own, `samples` times, on the floor's kind of nodes; and
 * the create and the listing sent together, which is the one round trip core's acquire makes.
 */
export async function rawOpLatencies(
  client: Requests,
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
    const node = await time("create", () => client.create(`${dir}/lock-`, mode.EPHEMERAL_SEQUENTIAL));
    await time("get_children", () => client.children(dir));
    await time("exists", () => client.exists(node));
    await time("delete", () => client.delete(node));
    const [pipelined] = await time("create ∥ get_children", () =>
      Promise.all([client.create(`${dir}/lock-`, mode.EPHEMERAL_SEQUENTIAL), client.children(dir)]),
    );
    await client.delete(pipelined);
  }
  return out;
}
