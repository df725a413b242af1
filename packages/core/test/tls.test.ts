// A manager over TLS: a lock taken from a TLS-only ZooKeeper (a secureClientPort and no plain port;
// Netty, client certificates required), a wrong CA that fails saying why, and the binding, which has
// no TLS, refused up front.
import {
  fourLetter,
  makeCertificates,
  startTlsZooKeeper,
  type TestCertificates,
  type ZooKeeperServer,
} from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLockError, type LockError, ZkLockManager } from "../src/index.js";
import { onBinding } from "./support/kind.js";

const failure = (promise: Promise<unknown>) =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error as LockError,
  );

it('refuses tls with client "zookeeper", which has no TLS, before connecting', async () => {
  const error = await failure(
    ZkLockManager.connect("127.0.0.1:1", { client: "zookeeper", tls: { ca: "x" } }),
  );
  expect(error).toMatchObject({ code: "INVALID_ARGUMENT" });
  expect(error.message).toContain("the npm zookeeper binding has no TLS");
  expect(() => ZkLockManager.open("127.0.0.1:1", { client: "zookeeper", tls: {} })).toThrow(/has no TLS/);
  expect(() => ZkLockManager.open("127.0.0.1:1", { tls: "yes" as never })).toThrow(
    /tls must be tls.connect\(\) options/,
  );
});

// TLS is a feature of @zk-dist-lock/client only: the binding's run has nothing more to check here.
describe.skipIf(onBinding)("over TLS", () => {
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

  it("takes a lock from a server that has no plain port, with a client certificate", async () => {
    const tls = { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey };
    // The server's own word: it listens on its TLS port only.
    const conf = await fourLetter(server.host, server.port, "conf", { tls });
    expect(conf).toMatch(/^clientPort=-1$/m);
    expect(conf).toContain(`secureClientPort=${server.port}\n`);
    const manager = await ZkLockManager.connect(server.connectString, {
      tls,
      connectTimeout: 10_000,
    });
    try {
      expect(manager.connectionState).toBe("connected");
      const token = await manager.withLock("tls:job", async ({ token }) => token, { timeout: 5000 });
      expect(typeof token).toBe("bigint");
    } finally {
      await manager.close();
    }
  });

  it("without tls, gets no session on the TLS port", async () => {
    const error = await failure(ZkLockManager.connect(server.connectString, { connectTimeout: 1500 }));
    expect(error).toMatchObject({ code: "CONNECTION" });
  });

  it("fails with a wrong CA, naming the certificate problem", async () => {
    const tls = { ca: certificates.otherCa, cert: certificates.clientCert, key: certificates.clientKey };
    const error = await failure(ZkLockManager.connect(server.connectString, { tls, connectTimeout: 1500 }));
    expect(isLockError(error)).toBe(true);
    expect(error).toMatchObject({ code: "CONNECTION" });
    expect(error.message).toContain("last failures:");
    expect(error.message).toMatch(/self[- ]signed certificate in certificate chain|unable to verify/);
  });
});
