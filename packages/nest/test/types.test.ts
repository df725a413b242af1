import { expect, it } from "vitest";
import { DistributedLock } from "../src/index.js";

// Compile-time checks (run by `pnpm typecheck`): a key function is typed against the method's
// leading parameters.
class Typed {
  @DistributedLock((orderId: string) => `order:${orderId}`)
  async fewerKeyArgs(_orderId: string, _quantity: number) {}

  @DistributedLock("fixed")
  async anyMethod(_a: number, _b: boolean) {}

  // @ts-expect-error the key function takes a number, the method a string
  @DistributedLock((n: number) => `n:${n}`)
  async mismatched(_s: string) {}

  // @ts-expect-error the key function must return a string
  @DistributedLock((n: number) => n)
  async notAString(_n: number) {}
}

it("compiles the typed key functions above", () => {
  expect(Object.getOwnPropertyNames(Typed.prototype)).toContain("fewerKeyArgs");
});
