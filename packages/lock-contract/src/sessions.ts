import { connectZooKeeper } from "@zk-dist-lock/testing";
import type { ContractClient, ContractManager } from "./lock-adapter.js";

/** A manager bound to a client of its own, hence a ZooKeeper session of its own. */
export interface Session<M extends ContractManager> {
  manager: M;
  close(): Promise<void>;
}

/** A client of the npm `zookeeper` package: the contract's default. */
async function bindingClient(connect: string): Promise<ContractClient> {
  const client = await connectZooKeeper(connect);
  return { client, close: () => client.close() };
}

/** Connects a new client to `connect` (by default of the npm `zookeeper` package) and binds `manager` to it. */
export async function openSession<M extends ContractManager>(
  connect: string,
  manager: M,
  connectClient: (connect: string) => Promise<ContractClient> = bindingClient,
): Promise<Session<M>> {
  const { client, close } = await connectClient(connect);
  manager.init(client as never);
  return {
    manager,
    async close() {
      await manager.close();
      await close();
    },
  };
}
