import { expect, it } from "vitest";
import { isZooKeeperTestingError, startZooKeeper } from "../src/index.js";

it("refuses a port that another server already serves instead of passing that server off as its own", async () => {
  await using first = await startZooKeeper();
  const error = await startZooKeeper({ port: first.port }).catch((e: unknown) => e);
  expect(isZooKeeperTestingError(error)).toBe(true);
  expect((error as Error).message).toMatch(/exited while starting|did not serve/);
});
