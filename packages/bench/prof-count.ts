import { fourLetter } from "@zk-dist-lock/testing";
import { coreContender } from "./src/scenarios/core.js";

const core = await coreContender("127.0.0.1:21810");
const recv = async () => Number(/Received: (\d+)/.exec(await fourLetter("127.0.0.1", 21810, "srvr"))![1]);
const dir = `/prof-count-${Date.now()}`;
await core.uncontended(`${dir}/core`, 10);
const a = await recv();
await core.uncontended(`${dir}/core`, 1000);
const b = await recv();
console.log("packets per cycle", (b - a - 1) / 1000);
await core.close();
