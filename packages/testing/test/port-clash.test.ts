import { createServer } from "node:net";
import { expect, it } from "vitest";
import { isZooKeeperTestingError, startZooKeeper } from "../src/index.js";

it("refuses a port that another server already serves instead of passing that server off as its own", async () => {
  await using first = await startZooKeeper();
  const error = await startZooKeeper({ port: first.port }).catch((e: unknown) => e);
  expect(isZooKeeperTestingError(error)).toBe(true);
  expect(error).toMatchObject({ code: "PORT_IN_USE" });
  // One line that says what is wrong, not the JVM's log.
  expect((error as Error).message).toBe(
    `Port ${first.port} on 127.0.0.1 is already in use; stop what listens there or choose another port.`,
  );
});

it("says so before starting a JVM when anything holds the port", async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const { port } = holder.address() as { port: number };
  try {
    await expect(startZooKeeper({ port })).rejects.toMatchObject({ code: "PORT_IN_USE" });
    await expect(startZooKeeper({ port: 70_000 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  } finally {
    holder.close();
  }
});
