import { createServer } from "node:net";
import { expect, inject, it } from "vitest";
import { connectZooKeeper, isZooKeeperTestingError } from "../src/index.js";

it("resolves a client whose session is connected", async () => {
  const client = await connectZooKeeper(inject("zkConnect"), { sessionTimeout: 4000 });
  expect(client.state).toBe(3); // ZOO_CONNECTED_STATE
  client.close();
});

it("fails with TIMEOUT when no session comes in time", async () => {
  // A port that accepts connections but never speaks ZooKeeper.
  const silent = createServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const { port } = silent.address() as { port: number };
  const error = await connectZooKeeper(`127.0.0.1:${port}`, { connectTimeout: 300 }).catch((e: unknown) => e);
  silent.close();
  expect(isZooKeeperTestingError(error)).toBe(true);
  expect(error).toMatchObject({ code: "TIMEOUT" });
});
