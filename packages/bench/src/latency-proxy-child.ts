// Run by latency-proxy.ts: a latency proxy in front of <target>, delaying each way by <ms>. Prints its
// connect string, and stops when its stdin closes (the bench closed it, or ended).
// Usage: latency-proxy-child.ts <target> <ms each way>
import { startProxy } from "@zk-dist-lock/testing";

const [target, msArg] = process.argv.slice(2);
const ms = Number(msArg);
if (!target || !Number.isFinite(ms) || ms < 0) {
  console.error("usage: latency-proxy-child.ts <connect string> <ms each way>");
  process.exit(2);
}

// No jitter: every implementation sees the same network, so the ratios compare protocols.
const proxy = await startProxy(target, { latency: { ms, direction: "both" } });
console.log(proxy.connectString);
process.stdin.on("end", () => {
  proxy.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
process.stdin.resume();
