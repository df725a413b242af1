import { connectZooKeeper } from "@zk-dist-lock/testing";
import type { ContractManager } from "./lock-adapter.js";

/** A manager bound to a client of its own, hence a ZooKeeper session of its own. */
export interface Session<M extends ContractManager> {
  manager: M;
  close(): Promise<void>;
}

/** Connects a new client to `connect` and binds `manager` to it. */
export async function openSession<M extends ContractManager>(
  connect: string,
  manager: M,
): Promise<Session<M>> {
  const client = await connectZooKeeper(connect);
  manager.init(client);
  return {
    manager,
    async close() {
      await manager.close();
      client.close();
    },
  };
}
