// The client this run of core's tests is about: every test runs on both (two vitest projects from
// one config, see vitest.config.ts), and helpers make managers and clients of this kind.
import { inject } from "vitest";
import type { ZkClientKind } from "../../src/index.js";
import { checkedKind } from "./worker-client.js";

/** `@zk-dist-lock/client`, or the npm `zookeeper` binding. */
export const clientKind: ZkClientKind = checkedKind(inject("zkClient"), "the vitest project's zkClient");

/**
 * Whether this run is on the npm `zookeeper` binding: for the few tests of what only the binding
 * does (it closes clients by itself), or only it lacks.
 */
export const onBinding = clientKind === "zookeeper";
