// ZkLockModule's tls option reaches ZkLockManager.connect(): a TLS-only server (no plain port, client
// certificates required) serves the module's locks. A file of its own: the server's JVM starts and
// stops here, away from the other module tests.
import { Module } from "@nestjs/common";
import { ZkLockManager } from "@zk-dist-lock/core";
import {
  makeCertificates,
  startTlsZooKeeper,
  type TestCertificates,
  type ZooKeeperServer,
} from "@zk-dist-lock/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ZkLockModule } from "../src/index.js";
import { createApp } from "./helpers.js";

let certificates: TestCertificates;
let server: ZooKeeperServer;
beforeAll(async () => {
  certificates = makeCertificates();
  server = await startTlsZooKeeper(certificates);
});
afterAll(async () => {
  await server?.stop();
  certificates?.remove();
});

it("connects to a TLS-only server with the tls option of ZkLockManager.connect()", async () => {
  const tls = { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey };
  @Module({ imports: [ZkLockModule.forRoot({ connect: server.connectString, tls, connectTimeout: 10_000 })] })
  class AppModule {}
  const app = await createApp(AppModule);
  try {
    expect(await app.get(ZkLockManager).withLock("over-tls", () => "held")).toBe("held");
  } finally {
    await app.close();
  }
});
