// TLS for tests: certificates made with openssl (a CA, a server certificate for 127.0.0.1 and a
// client certificate signed by it, and a second, unrelated CA for the "wrong CA" case), and a
// ZooKeeper server that serves them on its secureClientPort (Netty), its only port.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type StartZooKeeperOptions, startStandalone, type ZooKeeperServer } from "./server.js";

/** Certificates for a TLS test, made by {@link makeCertificates}. */
export interface TestCertificates {
  dir: string;
  /** PEM files for the server: its key and certificate in one file (ZooKeeper's PEM key store), and the CA. */
  serverKeyStore: string;
  caFile: string;
  /** PEM contents for Node's tls options. */
  ca: string;
  clientKey: string;
  clientCert: string;
  otherCa: string;
  remove(): void;
}

const openssl = (dir: string, ...args: string[]) =>
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

/**
 * Makes the certificates in a temporary directory (RSA 2048, valid for a day); `remove()` deletes it.
 *
 * @example
 * ```ts
 * const certificates = makeCertificates();
 * const tls = { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey };
 * ```
 */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), "zk-client-tls-"));
  // A new RSA key and a request for /CN=name: self-signed (-x509) for a CA, else a CSR to sign.
  const keyAnd = (name: string, ...output: string[]) =>
    openssl(
      dir,
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-subj",
      `/CN=${name}`,
      ...output,
    );
  const ca = (name: string) => keyAnd(name, "-x509", "-days", "1", "-out", `${name}.pem`);
  const signed = (name: string, extensions: string) => {
    keyAnd(name, "-out", `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    );
  };
  ca("ca");
  ca("other-ca");
  signed("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth");
  signed("client", "extendedKeyUsage=clientAuth");
  const read = (file: string) => readFileSync(join(dir, file), "utf8");
  const serverKeyStore = join(dir, "server-keystore.pem");
  writeFileSync(serverKeyStore, read("server.key") + read("server.pem"));
  return {
    dir,
    serverKeyStore,
    caFile: join(dir, "ca.pem"),
    ca: read("ca.pem"),
    clientKey: read("client.key"),
    clientCert: read("client.pem"),
    otherCa: read("other-ca.pem"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Starts a ZooKeeper server whose only client port is a TLS one: `secureClientPort` on 127.0.0.1
 * (Netty) with `certificates`, asking clients for a certificate of their CA, and no plain
 * `clientPort` at all, so nothing reaches it without TLS. `connectString` and `port` are that TLS
 * port; readiness is checked over TLS with the client certificate (`srvr`, `conf`), as is
 * `restart()`. Options are {@link startZooKeeper}'s, `port` included.
 *
 * @example
 * ```ts
 * const certificates = makeCertificates();
 * await using server = await startTlsZooKeeper(certificates);
 * const tls = { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey };
 * const zk = await ZooKeeperClient.connect(server.connectString, { tls });
 * ```
 */
export function startTlsZooKeeper(
  certificates: TestCertificates,
  options: StartZooKeeperOptions = {},
): Promise<ZooKeeperServer> {
  const clientTls = { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey };
  return startStandalone(
    {
      ...options,
      systemProperties: {
        "zookeeper.serverCnxnFactory": "org.apache.zookeeper.server.NettyServerCnxnFactory",
        "zookeeper.ssl.keyStore.location": certificates.serverKeyStore,
        "zookeeper.ssl.keyStore.type": "PEM",
        "zookeeper.ssl.trustStore.location": certificates.caFile,
        "zookeeper.ssl.trustStore.type": "PEM",
        ...options.systemProperties,
      },
    },
    clientTls,
  );
}
