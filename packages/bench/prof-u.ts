import { coreContender } from "./src/scenarios/core.js";
import { floorContender } from "./src/scenarios/floor.js";

const connect = "127.0.0.1:21810";
const which = process.argv[2] ?? "both";
const core = await coreContender(connect);
const floor = await floorContender(connect);
const root = `/prof-${Date.now()}`;
await core.uncontended(`${root}/core`, 300);
await floor.uncontended(`${root}/floor`, 300);
for (let i = 0; i < 3; i++) {
  if (which !== "floor") {
    const c = await core.uncontended(`${root}/core`, 2000);
    console.log("core", (2000000 / c.elapsedMs).toFixed(0));
  }
  if (which !== "core") {
    const f = await floor.uncontended(`${root}/floor`, 2000);
    console.log("floor", (2000000 / f.elapsedMs).toFixed(0));
  }
}
await core.close();
await floor.close();
