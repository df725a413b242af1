// `pnpm start` runs the app on an embedded ZooKeeper (or on ZK_CONNECT); `pnpm start --demo` also
// sends 50 concurrent deposits to itself, prints the balance and exits.
import "reflect-metadata";
import { NestFactory } from "@nestjs/core";
import { startZooKeeper } from "@zk-dist-lock/testing";
import { AppModule } from "./app.module.js";
import { startTelemetry } from "./telemetry.js";

const demo = process.argv.includes("--demo");
// First, so that every lock the app takes is measured.
const telemetry = startTelemetry();
const zooKeeper = process.env.ZK_CONNECT ? undefined : await startZooKeeper();
const connect = process.env.ZK_CONNECT ?? (zooKeeper?.connectString as string);

const app = await NestFactory.create(AppModule.register(connect), { logger: ["error", "warn"] });
app.enableShutdownHooks();
await app.listen(demo ? 0 : Number(process.env.PORT ?? 3000), "127.0.0.1");
const url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
console.log(`Nest on ${url}, locks on ZooKeeper ${connect}`);

if (demo) {
  const deposits = Array.from({ length: 50 }, () =>
    fetch(`${url}/accounts/acc-1/deposit?amount=1`, { method: "POST" }).then((r) => r.status),
  );
  const statuses = await Promise.all(deposits);
  const { balance } = (await (await fetch(`${url}/accounts/acc-1`)).json()) as { balance: number };
  console.log(
    `50 concurrent deposits of 1 → statuses ${[...new Set(statuses)].join(",")}, balance ${balance}`,
  );
  console.log(`locks: ${await telemetry.summary()}`);
  await stop();
} else {
  console.log(`  curl -X POST '${url}/accounts/acc-1/deposit?amount=5'`);
  console.log(`  curl '${url}/accounts/acc-1'`);
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

// app.close() closes the ZooKeeper client ZkLockModule created; the embedded server goes last.
async function stop() {
  await app.close();
  await telemetry.stop();
  await zooKeeper?.stop();
}
