import { digestAcl, digestAuth, type ZkLockManager } from "@zk-dist-lock/core";
import { expect, it } from "vitest";
import { DistributedLock, ZkLockModule, type ZkLockModuleOptions } from "../src/index.js";

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

// Every option of core's connect() is a module option with connect; how to connect is refused
// beside a manager, and a client object is not a client kind.
const withConnect = (manager: ZkLockManager): ZkLockModuleOptions[] => [
  {
    connect: "127.0.0.1:2181",
    auth: [digestAuth("locker", "s3cret")],
    acl: [digestAcl("locker", "s3cret")],
    tls: { ca: "…" },
    client: "zookeeper",
    sessionTimeout: 5000,
    connectTimeout: 5000,
  },
  // @ts-expect-error a manager was connected when it was created
  { manager, auth: [digestAuth("locker", "s3cret")] },
  // @ts-expect-error a manager was connected when it was created
  { manager, tls: {} },
  // @ts-expect-error beside connect, client names a kind of client
  { connect: "127.0.0.1:2181", client: {} },
];
const typedRoot = () =>
  ZkLockModule.forRoot({ connect: "127.0.0.1:2181", acl: [digestAcl("a", "b")], isGlobal: false });

it("compiles the typed key functions above", () => {
  expect(typeof withConnect).toBe("function");
  expect(typeof typedRoot).toBe("function");
  expect(Object.getOwnPropertyNames(Typed.prototype)).toContain("fewerKeyArgs");
});
