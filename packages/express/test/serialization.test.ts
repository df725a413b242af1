import { waitFor } from "@zk-dist-lock/testing";
import { describe, expect, it } from "vitest";
import { distributedLock, getLock } from "../src/index.js";
import { expressVersions, serve, sharedManager, uniqueRoot } from "./support.js";

const zk = sharedManager();

describe.each(expressVersions)("%s: distributedLock() serializes requests per key", (_version, framework) => {
  it("lets one request at a time into the handler for one key, in token order", async () => {
    const rootDir = uniqueRoot();
    let inside = 0;
    let maxInside = 0;
    const tokens: bigint[] = [];
    const app = await serve(
      (app) =>
        app.get(
          "/work/:id",
          distributedLock(zk.manager, { key: (req) => `work:${req.params.id}`, rootDir }),
          async (_req, res) => {
            inside++;
            maxInside = Math.max(maxInside, inside);
            tokens.push(getLock(res).token);
            // Work that yields to the event loop, so an unlocked run would overlap.
            await new Promise((resolve) => setTimeout(resolve, 5));
            inside--;
            res.sendStatus(204);
          },
        ),
      framework,
    );
    try {
      const statuses = await Promise.all(
        Array.from({ length: 8 }, () => fetch(app.url("/work/42")).then((r) => r.status)),
      );
      expect(statuses).toEqual(Array(8).fill(204));
      expect(maxInside).toBe(1);
      expect(tokens).toHaveLength(8);
      for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
      await zk.untilFree("work:42", rootDir);
      expect(zk.holds("work:42", rootDir)).toEqual({ acquired: 8, released: 8 });
    } finally {
      await app.close();
    }
  });

  it("lets requests for different keys into the handler at the same time", async () => {
    const rootDir = uniqueRoot();
    let arrived = 0;
    const app = await serve(
      (app) =>
        app.get(
          "/work/:id",
          distributedLock(zk.manager, { key: (req) => `work:${req.params.id}`, rootDir }),
          async (_req, res) => {
            arrived++;
            // A barrier: each handler stays inside until both are inside; serialized, it times out.
            const met = await waitFor(() => arrived === 2, { timeoutMs: 10_000 }).then(
              () => true,
              () => false,
            );
            res.sendStatus(met ? 204 : 504);
          },
        ),
      framework,
    );
    try {
      const statuses = await Promise.all(
        ["/work/a", "/work/b"].map((path) => fetch(app.url(path)).then((r) => r.status)),
      );
      expect(statuses).toEqual([204, 204]);
    } finally {
      await app.close();
    }
  });
});
