import { describe, expect, it } from "vitest";
import { type NodeKind, nodePrefix, SHARED } from "../lock-node.js";
import { exclusive, lockRule, QUEUE_CHANGE, ruleOf, semaphoreRule } from "./rules.js";

/** One letter per node: W exclusive, R shared, S a semaphore's of 3 permits, T of 5. */
const kinds: Record<string, NodeKind> = {
  W: { mode: "exclusive" },
  R: SHARED,
  S: { mode: "semaphore", permits: 3 },
  T: { mode: "semaphore", permits: 5 },
};

/** Node names in queue order, one per letter. */
const queue = (letters: string): string[] =>
  [...letters].map((letter, i) => `${nodePrefix(`g${i}`, kinds[letter])}${String(i).padStart(10, "0")}`);

/** What node `index` of `letters` waits for under its own rule: its index, "queue", "turn", or "conflict". */
function waitsFor(letters: string, index: number): number | "queue" | "turn" | "conflict" {
  const contenders = queue(letters);
  const blocker = ruleOf(kinds[letters[index]!]!).blocker(contenders, index);
  if (blocker === undefined) return "turn";
  if (blocker === QUEUE_CHANGE) return "queue";
  if (typeof blocker === "object") return "conflict";
  return contenders.indexOf(blocker);
}
const all = (letters: string) => [...letters].map((_, i) => waitsFor(letters, i));

describe("queue rules", () => {
  it("a mutex and an election: the first holds, every other watches the one just ahead", () => {
    const contenders = queue("WWW");
    expect([0, 1, 2].map((i) => exclusive.blocker(contenders, i))).toEqual([
      undefined,
      ...contenders.slice(0, 2),
    ]);
    // One rule for both, so an election also refuses to queue behind a semaphore.
    expect(lockRule("exclusive")).toBe(exclusive);
    expect(exclusive.blocker(queue("SW"), 1)).toMatchObject({ conflict: expect.stringMatching(/semaphore/) });
  });

  it("shared nodes hold together until an exclusive one, which waits for everyone ahead", () => {
    expect(all("RRR")).toEqual(["turn", "turn", "turn"]);
    // A writer watches its predecessor; readers behind it wait for it (FIFO: it is not starved).
    expect(all("RRWRR")).toEqual(["turn", "turn", 1, 2, 2]);
    // A reader watches the nearest exclusive node ahead, not the first one.
    expect(all("WRWR")).toEqual(["turn", 0, 1, 2]);
    expect(all("WRR")).toEqual(["turn", 0, 0]);
  });

  it("a semaphore: the first permits hold, the first waiter watches the queue, later ones their predecessor", () => {
    expect(all("SSSSSS")).toEqual(["turn", "turn", "turn", "queue", 3, 4]);
    expect(semaphoreRule(3).marksGrant).toBe(true);
    expect(lockRule("shared").marksGrant).toBeFalsy();
  });

  it("refuses to queue behind nodes of other permits, and locks and semaphores on one resource", () => {
    expect(waitsFor("ST", 1)).toBe("conflict");
    expect(waitsFor("TS", 1)).toBe("conflict");
    expect(waitsFor("WS", 1)).toBe("conflict");
    expect(waitsFor("RS", 1)).toBe("conflict");
    expect(waitsFor("SW", 1)).toBe("conflict");
    expect(waitsFor("SR", 1)).toBe("conflict");
    // Only nodes ahead count: the first node holds whatever queues behind it.
    expect(waitsFor("ST", 0)).toBe("turn");
    const blocker = semaphoreRule(3).blocker(queue("TS"), 1);
    expect(blocker).toMatchObject({
      conflict: expect.stringMatching(/asks for 3 permits, another process for 5/),
    });
  });
});
