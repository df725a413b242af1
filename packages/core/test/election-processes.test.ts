// Leadership between OS processes on a real 3-member ensemble, through one proxy per worker and
// member so that a worker can be partitioned: the leader is partitioned, the ZooKeeper leader
// crashes, the leading worker is frozen past its session timeout, then killed. A witness outside
// ZooKeeper, an append-only log of every leader's work, must show one leader at a time.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEnsemble, waitFor, type ZooKeeperEnsemble } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Child, startChild } from "./support/child.js";
import { ZkProxy } from "./support/tcp-proxy.js";
import { childrenOf, closeClients, connectClient, type TestClient } from "./support/zk.js";

const SESSION_TIMEOUT = 3000;
const WORKERS = 3;
const rootDir = "/election-processes";
const name = "scheduler";

interface Line {
  at: number;
  worker: number;
  token: bigint;
  what: string;
}

interface Worker extends Child {
  proxies: ZkProxy[];
}

describe("an election between processes on a 3-member ensemble", () => {
  let ensemble: ZooKeeperEnsemble;
  const workers: Worker[] = [];
  const dir = mkdtempSync(join(tmpdir(), "zk-election-witness-"));
  const log = join(dir, "log");
  let observer: TestClient;

  beforeAll(async () => {
    // tickTime 200 lets the servers grant a 3 s session timeout.
    ensemble = await startEnsemble({ size: 3, tickTime: 200 });
  });

  afterAll(async () => {
    for (const { child } of workers)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all(workers.flatMap((worker) => worker.proxies.map((proxy) => proxy.close())));
    closeClients();
    await ensemble?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const lines = (): Line[] => {
    let text = "";
    try {
      text = readFileSync(log, "utf8");
    } catch {
      return [];
    }
    return text
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [at, worker, token, ...what] = line.split(" ");
        return { at: Number(at), worker: Number(worker), token: BigInt(token!), what: what.join(" ") };
      });
  };
  const sessions = (worker: Worker) =>
    worker.output.split("\n").filter((l) => l.startsWith("session ")).length;

  /** The worker that leads now by the log: its latest term has worked a few times and not ended. */
  async function leaderNow(): Promise<{ worker: number; token: bigint }> {
    return waitFor(
      () => {
        const all = lines();
        const last = all.at(-1);
        if (!last) return false;
        const term = all.filter((l) => l.token === last.token);
        const working = term.filter((l) => l.what === "work").length >= 3;
        return (
          working &&
          !term.some((l) => l.what.startsWith("ended")) && { worker: last.worker, token: last.token }
        );
      },
      { timeoutMs: 30_000, message: "a worker leading" },
    );
  }

  /** Resolves with the first term after `token` once it has begun. */
  function nextTerm(token: bigint, timeoutMs: number, message: string): Promise<Line> {
    return waitFor(() => lines().find((l) => l.what === "elected" && l.token > token) ?? false, {
      timeoutMs,
      message,
    });
  }

  const report = () => {
    const tail = lines()
      .slice(-40)
      .map((l) => `${l.at} ${l.worker} ${l.token} ${l.what}`);
    return `${workers.map((w, id) => `worker ${id}:\n${w.output}`).join("\n")}\nlog:\n${tail.join("\n")}`;
  };
  const candidatesOnline = async () => (await childrenOf(observer, `${rootDir}/${name}`)).length === WORKERS;

  it("has at most one leader at any instant, each term outranks the last, and a killed leader's successor takes over", async () => {
    for (let id = 0; id < WORKERS; id++) {
      const proxies = await Promise.all(ensemble.members.map((m) => ZkProxy.start(m.host, m.port)));
      const connect = proxies.map((proxy) => proxy.connectString).join(",");
      const args = [connect, rootDir, name, log, String(id), String(SESSION_TIMEOUT)];
      workers.push(Object.assign(startChild("election-worker.ts", args), { proxies }));
    }
    observer = await connectClient(ensemble.connectString);
    await waitFor(candidatesOnline, { timeoutMs: 60_000, message: "every worker campaigning" });
    let scenario: Awaited<ReturnType<typeof faults>>;
    try {
      scenario = await faults();
    } catch (error) {
      throw new Error(`${error}\n${report()}`, { cause: error });
    }
    const { frozen, resumedAt, killed } = scenario;
    for (const [id, worker] of workers.entries()) if (id !== killed) worker.child.stdin?.end("stop\n");
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(
      codes.filter((code) => code !== 0),
      report(),
    ).toEqual([null]); // the killed one

    // The witness. Terms begin in token order, each token is one worker's, and in log order no
    // line of an older term follows a newer term's: a fenced store would have accepted every line
    // but those of the frozen worker written after it woke and before it learnt its term was over.
    const all = lines();
    const elected = all.filter((l) => l.what === "elected").map((l) => l.token);
    expect(elected).toEqual([...elected].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(elected).size).toBe(elected.length);
    const owner = new Map<bigint, number>();
    for (const line of all) {
      if (!owner.has(line.token)) owner.set(line.token, line.worker);
      expect(owner.get(line.token)).toBe(line.worker);
    }
    let newest = 0n;
    const stale: Line[] = [];
    for (const line of all) {
      if (line.token < newest) stale.push(line);
      else newest = line.token;
    }
    for (const line of stale) {
      expect(line, report()).toMatchObject({ worker: frozen.worker, token: frozen.token });
      expect(line.at).toBeGreaterThanOrEqual(resumedAt);
    }
    expect(elected.length).toBeGreaterThanOrEqual(5);
  }, 300_000);

  async function faults() {
    // 1. A silent partition of the leader: it stops at its suspension, the others wait for its
    //    session to expire. Back in touch, it learns of the expiry and campaigns on a new session.
    const partitioned = await leaderNow();
    const victim = workers[partitioned.worker]!;
    const before = sessions(victim);
    for (const proxy of victim.proxies) proxy.freeze();
    const afterPartition = await nextTerm(
      partitioned.token,
      6 * SESSION_TIMEOUT,
      "a leader after the partition",
    );
    expect(afterPartition.worker).not.toBe(partitioned.worker);
    for (const proxy of victim.proxies) proxy.thaw();
    await waitFor(() => sessions(victim) > before, {
      timeoutMs: 30_000,
      message: "a new session for the partitioned worker",
    });
    await waitFor(candidatesOnline, {
      timeoutMs: 30_000,
      message: "the partitioned worker campaigning again",
    });

    // 2. The ZooKeeper leader crashes: every session lives on, some terms end at the suspension.
    const beforeCrash = await leaderNow();
    const zkLeader = await waitFor(() => ensemble.leader(), { message: "the ensemble's leader" });
    await ensemble.kill(zkLeader);
    await waitFor(async () => (await ensemble.leader()) !== undefined, {
      timeoutMs: 30_000,
      message: "a new ensemble leader",
    });
    await ensemble.restart(zkLeader);
    await waitFor(candidatesOnline, {
      timeoutMs: 30_000,
      message: "every worker campaigning after the crash",
    });

    // 3. The leader freezes (SIGSTOP) past its session timeout: someone else leads meanwhile, and
    //    the frozen one, woken, learns that its term is over and campaigns again.
    const frozen = await leaderNow();
    expect(frozen.token).toBeGreaterThanOrEqual(beforeCrash.token);
    const sleeper = workers[frozen.worker]!;
    const sleeperSessions = sessions(sleeper);
    sleeper.child.kill("SIGSTOP");
    const afterFreeze = await nextTerm(frozen.token, 6 * SESSION_TIMEOUT, "a leader while one is frozen");
    const resumedAt = Date.now();
    sleeper.child.kill("SIGCONT");
    await waitFor(() => lines().some((l) => l.token === frozen.token && l.what.startsWith("ended")), {
      timeoutMs: 30_000,
      message: "the frozen leader to see its term end",
    });
    await waitFor(() => sessions(sleeper) > sleeperSessions, {
      timeoutMs: 30_000,
      message: "its new session",
    });
    await waitFor(candidatesOnline, { timeoutMs: 30_000, message: "the frozen worker campaigning again" });

    // 4. The leader is killed: the successor takes over within about the session timeout.
    const killed = await leaderNow();
    expect(killed.token).toBeGreaterThanOrEqual(afterFreeze.token);
    workers[killed.worker]!.child.kill("SIGKILL");
    const successor = await nextTerm(
      killed.token,
      SESSION_TIMEOUT + 5000,
      "the successor of the killed leader",
    );
    expect(successor.worker).not.toBe(killed.worker);
    return { frozen, resumedAt, killed: killed.worker };
  }
});
