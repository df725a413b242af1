// The seeded schedule of faults: one at a time, each injected, held, healed and recovered from
// before a short calm and the next. The seed fixes the kinds, durations and choices; which member
// leads or which worker holds at that moment is up to the run.
import { setTimeout as delay } from "node:timers/promises";
import { waitFor } from "@zk-dist-lock/testing";
import { now } from "./clock.js";
import type { Random } from "./random.js";
import type { Slot, Soak } from "./soak.js";

/** The faults, with how often each comes. */
export const faultWeights = {
  "kill leader": 3,
  "kill follower": 2,
  "partition a worker": 2,
  "partition a worker past its session": 2,
  "cut a worker's connections": 1,
  "pause a writer past its session": 3,
  "SIGKILL a holder": 3,
  "slow a worker's network": 1,
} as const;

export type FaultKind = keyof typeof faultWeights;

/** Runs faults until `untilAt` (a clock.ts moment); the one under way at that moment is finished. */
export async function runSchedule(soak: Soak, random: Random, untilAt: number): Promise<void> {
  while (now() < untilAt) {
    await delay(random.between(1000, 3000));
    if (now() >= untilAt) break;
    await inject(soak, random, random.weighted(faultWeights));
  }
}

async function inject(soak: Soak, random: Random, kind: FaultKind): Promise<void> {
  const { ensemble, settings } = soak;
  const pastSession = () => settings.sessionTimeoutMs + random.between(500, 2500);
  switch (kind) {
    case "kill leader":
    case "kill follower": {
      const leader = await waitFor(() => ensemble.leader(), { timeoutMs: 30_000, message: "a leader" });
      const member =
        kind === "kill leader"
          ? leader
          : random.pick(ensemble.members.filter((m) => m !== leader && m.running));
      if (!member) return;
      soak.fault(kind, `member ${member.id}`);
      await ensemble.kill(member);
      await delay(random.between(1000, 4000));
      await ensemble.restart(member);
      return;
    }
    case "partition a worker":
    case "partition a worker past its session":
    case "slow a worker's network": {
      const slot = random.pick(soak.slots)!;
      const ms = kind === "partition a worker" ? random.between(500, 2000) : pastSession();
      if (kind === "slow a worker's network") {
        const latency = random.between(20, 80);
        soak.fault(kind, `${slot.name}, ${latency} ± 20 ms each way for ${ms} ms`);
        slot.proxy.setLatency({ ms: latency, jitterMs: 20 });
      } else {
        soak.fault(kind, `${slot.name} for ${ms} ms`);
        slot.proxy.blackhole();
      }
      await delay(ms);
      slot.proxy.heal();
      return;
    }
    case "cut a worker's connections": {
      const slot = random.pick(soak.slots)!;
      soak.fault(kind, slot.name);
      slot.proxy.cut();
      return;
    }
    case "pause a writer past its session": {
      const ms = pastSession();
      const paused = new Promise<Slot | undefined>((resolve) => {
        soak.pauseNextWriter = {
          ms,
          paused: (slot) => soak.fault(kind, `${slot.name} for ${ms} ms, its write held back`),
          done: resolve,
        };
        // Nobody writes while, say, the ensemble has no quorum: give up after a while.
        setTimeout(() => resolve(undefined), 10_000).unref();
      });
      if ((await paused) === undefined && soak.pauseNextWriter) {
        soak.pauseNextWriter = undefined;
        soak.note(`${kind}: no worker wrote within 10 s, skipped`);
      }
      return;
    }
    case "SIGKILL a holder": {
      const holder = await waitFor(() => random.pick(soak.slots.filter((s) => s.holding && !s.paused)), {
        timeoutMs: 5000,
      }).catch(() => undefined);
      if (!holder) {
        soak.note(`${kind}: nobody held a lock for 5 s, skipped`);
        return;
      }
      soak.fault(
        kind,
        `${holder.name} holding ${holder.holding?.resource} with token ${holder.holding?.token}`,
      );
      await soak.killWorker(holder);
      await delay(random.between(500, 3000));
      await soak.startWorker(holder);
      return;
    }
  }
}
