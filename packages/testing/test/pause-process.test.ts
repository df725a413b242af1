import { spawn } from "node:child_process";
import { expect, it } from "vitest";
import { pauseProcess, pauseProcessFor, waitFor } from "../src/index.js";
import { raceTimeout, stateOf } from "./helpers.js";

/** A child that prints a tick every 20 ms; `ticks()` counts what it printed so far. */
function ticker() {
  const child = spawn(process.execPath, ["-e", "setInterval(() => process.stdout.write('.'), 20)"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let count = 0;
  child.stdout.on("data", (chunk: Buffer) => {
    count += chunk.length;
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { child, ticks: () => count, exited };
}

it("stops every thread of a child process until resumed", async () => {
  const { child, ticks, exited } = ticker();
  try {
    await waitFor(() => ticks() > 0, { message: "the child to tick" });
    const paused = pauseProcess(child);
    expect(paused.pid).toBe(child.pid);
    // Once it is stopped, and what was on its way has arrived, nothing more comes.
    await waitFor(() => stateOf(child.pid!) === "T", { message: "the child to stop" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = ticks();
    const more = waitFor(() => ticks() > before, { timeoutMs: 5000 });
    expect(await raceTimeout(more, 500)).toBe("timeout");
    paused.resume();
    paused.resume(); // idempotent
    await more;

    const timed = pauseProcessFor(child, 300);
    const during = ticks();
    await timed;
    await waitFor(() => ticks() > during, { message: "the child to tick again" });
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
  expect(() => pauseProcess(child)).toThrow(expect.objectContaining({ code: "NOT_RUNNING" }));
  expect(() => pauseProcess(process.pid)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
});
