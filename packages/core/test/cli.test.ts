// `zk-dist-lock locks` run as a process against a real server with held and waiting locks: what it
// prints matches inspect(), and it says clearly when it cannot connect or was called wrongly.
import { execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  makeCertificates,
  startProxy,
  startTlsZooKeeper,
  type TestCertificates,
  waitFor,
  type ZooKeeperServer,
} from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { digestAcl, digestAuth, type LockInspection, ZkLockManager } from "../src/index.js";
import { clientKind, onBinding } from "./support/kind.js";
import { closeClients, startManager, type TestManager, uniqueRoot } from "./support/zk.js";

const connect = inject("zkConnect");
const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", cli, ...args],
      {
        timeout: 30_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

describe("zk-dist-lock locks", () => {
  const rootDir = uniqueRoot("cli");
  const managers: TestManager[] = [];
  let expected: LockInspection[];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) managers.push(await startManager(connect, { rootDir, label: `worker-${i}` }));
    const [a, b, c] = managers.map((m) => m.manager);
    await a!.createLock("invoice:42").acquire();
    b!
      .createLock("invoice:42")
      .acquire()
      .catch(() => {}); // settles when the managers close
    c!
      .createLock("invoice:42")
      .acquire()
      .catch(() => {});
    await b!.createLock("report").acquire();
    await waitFor(async () => (await a!.inspect("invoice:42")).waiters.length === 2, {
      message: "two waiters on invoice:42",
    });
    expected = [await a!.inspect("invoice:42"), await a!.inspect("report")];
  });

  afterAll(async () => {
    await Promise.allSettled(managers.map(({ manager }) => manager.close()));
    closeClients();
  });

  it("--json lists every resource as inspect() reports it", async () => {
    const { code, stdout } = await run("locks", "--connect", connect, "--root", rootDir, "--json");
    expect(code).toBe(0);
    const view = JSON.parse(stdout);
    expect(view.rootDir).toBe(rootDir);
    expect(view.resources).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it("prints holders and waiters in queue order for people", async () => {
    const { code, stdout } = await run("locks", "--connect", connect, "--root", rootDir);
    expect(code).toBe(0);
    const [invoice, report] = expected;
    const lines = stdout.split("\n");
    const at = lines.indexOf("invoice:42");
    expect(lines[at + 1]).toContain(`held by  exclusive  `);
    expect(lines[at + 1]).toContain(`label "worker-0"`);
    expect(lines[at + 1]).toContain(`session 0x${invoice!.holder!.sessionId}`);
    // The two waiters queued concurrently: their order is whatever inspect() saw.
    const [first, second] = invoice!.waiters.map((w) => w.owner?.label);
    expect(lines[at + 2]).toMatch(new RegExp(`^ {4}1\\. .*label "${first}"`));
    expect(lines[at + 3]).toMatch(new RegExp(`^ {4}2\\. .*label "${second}"`));
    expect(stdout).toContain(report!.holder!.node);
  });

  it("fails within --timeout, naming the servers, when ZooKeeper cannot be reached", async () => {
    const { code, stderr } = await run("locks", "--connect", "127.0.0.1:1", "--timeout", "1000");
    expect(code).toBe(1);
    expect(stderr).toContain("127.0.0.1:1");
  });

  it("with --watch, reports an outage and goes on once ZooKeeper is back; Ctrl-C ends it", async () => {
    await using proxy = await startProxy(connect);
    const args = ["--watch", "--json", "--interval", "100", "--timeout", "500", "--root", rootDir];
    const child = spawn(process.execPath, [
      "--import",
      "tsx",
      cli,
      "locks",
      "--connect",
      proxy.connectString,
      ...args,
    ]);
    const out = { stdout: "", stderr: "" };
    child.stdout.on("data", (chunk) => (out.stdout += chunk));
    child.stderr.on("data", (chunk) => (out.stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      await waitFor(() => out.stdout.includes("invoice:42"), {
        timeoutMs: 20_000,
        message: "a first snapshot",
      });
      proxy.refuse();
      await waitFor(() => out.stderr.includes("zk-dist-lock: "), {
        timeoutMs: 20_000,
        message: "the outage reported",
      });
      const before = out.stdout.length;
      proxy.heal();
      await waitFor(() => out.stdout.slice(before).includes("invoice:42"), {
        timeoutMs: 20_000,
        message: "a snapshot after the outage",
      });
      expect(out.stderr).not.toContain("Usage:");
      child.kill("SIGINT");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("prints its usage and exits 2 when called wrongly", async () => {
    for (const args of [
      [],
      ["locks"],
      ["held", "--connect", connect],
      ["locks", "--connect", connect, "--bogus"],
      ["locks", "--connect", connect, "--root", "locks"],
      ["locks", "--connect", connect, "--interval", "3000000000"],
    ]) {
      const { code, stderr } = await run(...args);
      expect(code, args.join(" ")).toBe(2);
      expect(stderr).toContain("Usage: zk-dist-lock locks --connect");
    }
  });
});

describe("zk-dist-lock locks --auth", () => {
  const rootDir = uniqueRoot("cli-auth");
  let holder: ZkLockManager;
  let node: string;

  beforeAll(async () => {
    // A root nobody else may read: its ACL is the locker's digest alone.
    holder = await ZkLockManager.connect(connect, {
      client: clientKind,
      rootDir,
      auth: [digestAuth("locker", "s3cret")],
      acl: [digestAcl("locker", "s3cret")],
    });
    const lock = holder.createLock("ledger");
    await lock.acquire();
    node = lock.nodePath!.split("/").pop()!;
  });
  afterAll(() => holder?.close());

  it("reads an ACL-protected root with the digest it is given, and is refused without it", async () => {
    const allowed = await run(
      "locks",
      "--connect",
      connect,
      "--root",
      rootDir,
      "--json",
      "--auth",
      "digest:locker:s3cret",
    );
    expect(allowed.code, allowed.stderr).toBe(0);
    const view = JSON.parse(allowed.stdout);
    expect(view.resources.map((r: LockInspection) => [r.resource, r.holder?.node])).toEqual([
      ["ledger", node],
    ]);

    for (const auth of [[], ["--auth", "digest:locker:wrong"]]) {
      const refused = await run("locks", "--connect", connect, "--root", rootDir, ...auth);
      expect(refused.code, auth.join(" ")).toBe(1);
      expect(refused.stderr).toMatch(/NOAUTH|not authenticated|-102/i);
    }
  });

  it("exits 2 with its usage for an --auth without a scheme", async () => {
    for (const auth of ["locker", ":locker:s3cret"]) {
      const { code, stderr } = await run("locks", "--connect", connect, "--auth", auth);
      expect(code, auth).toBe(2);
      expect(stderr).toContain("--auth needs SCHEME:CREDENTIALS");
      expect(stderr).toContain("Usage: zk-dist-lock locks --connect");
    }
  });
});

// The CLI runs on @zk-dist-lock/client whatever the project: once is enough.
describe.skipIf(onBinding)("zk-dist-lock locks over TLS", () => {
  let certificates: TestCertificates;
  let server: ZooKeeperServer;
  const files: Record<"ca" | "cert" | "key", string> = { ca: "", cert: "", key: "" };

  beforeAll(async () => {
    certificates = makeCertificates();
    server = await startTlsZooKeeper(certificates);
    const pems = { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey };
    for (const name of ["ca", "cert", "key"] as const) {
      files[name] = join(certificates.dir, `cli-${name}.pem`);
      writeFileSync(files[name], pems[name]);
    }
  });
  afterAll(async () => {
    await server?.stop();
    certificates?.remove();
  });

  it("lists the locks of a TLS-only server with --tls-ca, --tls-cert and --tls-key", async () => {
    const rootDir = uniqueRoot("cli-tls");
    const tls = { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey };
    const holder = await ZkLockManager.connect(server.connectString, { rootDir, tls });
    try {
      await holder.createLock("over-tls").acquire();
      const flags = ["--tls-ca", files.ca, "--tls-cert", files.cert, "--tls-key", files.key];
      const { code, stdout, stderr } = await run(
        "locks",
        "--connect",
        server.connectString,
        "--root",
        rootDir,
        "--json",
        ...flags,
      );
      expect(code, stderr).toBe(0);
      expect(JSON.parse(stdout).resources.map((r: LockInspection) => r.resource)).toEqual(["over-tls"]);
      // Without a client certificate the server refuses the handshake: an outage that says so.
      const without = await run(
        "locks",
        "--connect",
        server.connectString,
        "--tls-ca",
        files.ca,
        "--timeout",
        "2000",
      );
      expect(without.code).toBe(1);
    } finally {
      await holder.close();
    }
  });

  it("exits 2 with its usage for a certificate without its key, or a file it cannot read", async () => {
    const missing = join(certificates.dir, "missing.pem");
    for (const [flags, why] of [
      [["--tls-cert", files.cert], "--tls-cert and --tls-key go together"],
      [["--tls-key", files.key], "--tls-cert and --tls-key go together"],
      [["--tls-ca", missing], `--tls-ca ${missing}: ENOENT`],
    ] as const) {
      const { code, stderr } = await run("locks", "--connect", server.connectString, ...flags);
      expect(code, flags.join(" ")).toBe(2);
      expect(stderr).toContain(why);
      expect(stderr).toContain("Usage: zk-dist-lock locks --connect");
    }
  });
});
