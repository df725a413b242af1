import { appendFileSync } from "node:fs";
import { setTimeout as delay } from "node:timers/promises";
import type { Term } from "@zk-dist-lock/core";

/**
 * The leader's background work: relay the outbox every `intervalMs` for as long as the term lasts.
 * Each round here just records who relayed with which fencing token (on the console, and in the
 * file `WORK_LOG` names, if any); a real relay would send the messages with the token as fence so
 * that the broker or the database drops what a deposed leader sends late.
 *
 * @example
 * ```ts
 * await election.lead((term) => relayOutbox(term), { signal });
 * ```
 */
export async function relayOutbox({ token, signal }: Term, intervalMs = 500): Promise<void> {
  console.log(`pid ${process.pid} leads with token ${token}`);
  for (let round = 1; !signal.aborted; round++) {
    const line = `${Date.now()} ${process.pid} ${token} ${round}`;
    if (process.env.WORK_LOG) appendFileSync(process.env.WORK_LOG, `${line}\n`);
    await delay(intervalMs, undefined, { signal }).catch(() => {});
  }
  console.log(`pid ${process.pid} stops leading: ${(signal.reason as Error).message}`);
}
