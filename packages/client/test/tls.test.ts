// TLS against a real TLS-only ZooKeeper: a secureClientPort and no plain port (Netty), client
// certificates required.
import {
  fourLetter,
  makeCertificates,
  startTlsZooKeeper,
  type TestCertificates,
  type ZooKeeperServer,
} from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZooKeeperClient } from "../src/index.js";
import { connect, rejection } from "./support/clients.js";

let certificates: TestCertificates;
let server: ZooKeeperServer;
let secure: string;

beforeAll(async () => {
  certificates = makeCertificates();
  server = await startTlsZooKeeper(certificates);
  secure = server.connectString;
});
afterAll(async () => {
  await server?.stop();
  certificates?.remove();
});

describe("TLS", () => {
  it("works over TLS with a client certificate, on a server that has no plain port", async () => {
    const tls = { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey };
    // The server's own word: it listens on its TLS port only.
    const conf = await fourLetter(server.host, server.port, "conf", { tls });
    expect(conf).toMatch(/^clientPort=-1$/m);
    expect(conf).toContain(`secureClientPort=${server.port}\n`);
    const zk = await connect(secure, { tls });
    const { path, stat } = await zk.create("/over-tls", "secret", { mode: "ephemeral" });
    expect(path).toBe("/over-tls");
    expect(stat.ephemeralOwner).toBe(zk.sessionId);
    expect((await zk.getData("/over-tls")).data.toString()).toBe("secret");
  });

  it("refuses a server whose certificate another CA signed, saying why", async () => {
    const error = await rejection(
      ZooKeeperClient.connect(secure, {
        connectTimeout: 1500,
        tls: { ca: certificates.otherCa, cert: certificates.clientCert, key: certificates.clientKey },
      }),
    );
    expect(error).toMatchObject({ code: "OPERATIONTIMEOUT" });
    expect(error.message).toContain(`Could not connect to ZooKeeper at "${secure}"`);
    expect(error.message).toMatch(/self[- ]signed certificate in certificate chain|unable to verify/);
  });

  it("is refused by the server without a client certificate", async () => {
    const error = await rejection(
      ZooKeeperClient.connect(secure, { connectTimeout: 1500, tls: { ca: certificates.ca } }),
    );
    expect(error).toMatchObject({ code: "OPERATIONTIMEOUT" });
    expect(error.message).toContain(`${secure}: The connection to ${secure} was lost:`);
    expect(error.message).toContain("the server refused the TLS handshake: check the client certificate");
  });

  it("a plain client on the TLS port gets no session, and says so", async () => {
    const error = await rejection(ZooKeeperClient.connect(secure, { connectTimeout: 1500 }));
    expect(error).toMatchObject({ code: "OPERATIONTIMEOUT" });
    expect(error.message).toContain(
      `${secure}: The connection to ${secure} was lost: the server closed it before answering the session request`,
    );
  });
});
