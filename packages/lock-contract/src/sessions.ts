import { waitFor } from "@zk-dist-lock/testing";
import ZooKeeper from "zookeeper";
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
  const client = new ZooKeeper({ connect, timeout: 10_000 });
  client.setLogger(false);
  let connected = false;
  client.once("connect", () => {
    connected = true;
  });
  client.init({});
  try {
    await waitFor(() => connected, { timeoutMs: 20_000, message: `a connection to ${connect}` });
  } catch (error) {
    client.close();
    throw error;
  }
  manager.init(client);
  return {
    manager,
    async close() {
      await manager.close();
      client.close();
    },
  };
}
