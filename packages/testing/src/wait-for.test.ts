import { describe, expect, it } from "vitest";
import { waitFor } from "./wait-for.js";

describe("waitFor", () => {
  it("resolves with the first truthy-enough value, retrying on errors", async () => {
    let calls = 0;
    const value = await waitFor(
      () => {
        calls++;
        if (calls === 1) throw new Error("not yet");
        return calls < 3 ? undefined : 0;
      },
      { intervalMs: 1 },
    );
    expect(value).toBe(0);
    expect(calls).toBe(3);
  });

  it("rejects with TIMEOUT and the last error as cause", async () => {
    const cause = new Error("still down");
    await expect(
      waitFor(
        () => {
          throw cause;
        },
        { timeoutMs: 50, intervalMs: 5, message: "the server" },
      ),
    ).rejects.toMatchObject({ code: "TIMEOUT", message: expect.stringContaining("the server"), cause });
  });
});
