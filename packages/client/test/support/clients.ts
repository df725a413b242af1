// Clients for the integration tests: each test file works under its own chroot on the shared
// server, and every client a test opens is closed after it.
import { randomUUID } from "node:crypto";
import { waitFor } from "@zk-dist-lock/testing";
import { afterEach, inject } from "vitest";
import {
  type ClientState,
  type StateChange,
  ZooKeeperClient,
  type ZooKeeperClientOptions,
} from "../../src/index.js";

const open = new Set<ZooKeeperClient>();

afterEach(async () => {
  await Promise.all([...open].map((client) => client.close()));
  open.clear();
});

/** A connected client that the test's cleanup closes. */
export async function connect(
  connectString: string,
  options?: ZooKeeperClientOptions,
): Promise<ZooKeeperClient> {
  const client = new ZooKeeperClient(connectString, options);
  open.add(client);
  await client.start();
  return client;
}

/** The shared server of the run, under a fresh chroot node of its own. */
export async function freshChroot(): Promise<string> {
  const root = `/client-test-${randomUUID()}`;
  const admin = await connect(inject("zkConnect"));
  await admin.create(root);
  await admin.close();
  return `${inject("zkConnect")}${root}`;
}

/** Records a client's state events. */
export function recordStates(client: ZooKeeperClient): { state: ClientState; change: StateChange }[] {
  const states: { state: ClientState; change: StateChange }[] = [];
  client.on("state", (state, change) => states.push({ state, change }));
  return states;
}

/** Resolves once the client is in `state`. */
export function waitForState(client: ZooKeeperClient, state: ClientState, timeoutMs = 20_000): Promise<true> {
  return waitFor(() => client.state === state, {
    timeoutMs,
    intervalMs: 20,
    message: `the client to be ${state}`,
  });
}

/** The error a promise rejects with (the test fails if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject");
}
