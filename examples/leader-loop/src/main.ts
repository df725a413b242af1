// `pnpm start`: one instance of the service. Start several (another PORT each, the same
// ZK_CONNECT): only the leader relays; kill it and another takes over within the session timeout.
import { appFor } from "./app.js";
import { relayOutbox } from "./relay.js";
import { openManager } from "./zookeeper.js";

const sessionTimeout = Number(process.env.SESSION_TIMEOUT ?? 5000);
const { manager, connect, close } = await openManager({ sessionTimeout });
const election = manager.createElection("outbox-relay");

// Campaign for as long as the process lives: relay while leading, campaign again after each term.
const stop = new AbortController();
const leading = election.lead((term) => relayOutbox(term), { signal: stop.signal });

const server = appFor(election).listen(Number(process.env.PORT ?? 3000), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : process.env.PORT;
  console.log(`listening on http://127.0.0.1:${port}, elections on ZooKeeper ${connect}`);
});

// On SIGTERM, hand over at once: stop relaying, resign (the next instance leads now rather than
// after the session timeout), then close the HTTP server and the session.
const shutdown = async () => {
  stop.abort();
  await leading;
  server.close();
  await close();
};
process.once("SIGINT", () => void shutdown());
process.once("SIGTERM", () => void shutdown());
