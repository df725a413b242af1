import { connect } from "node:net";
import { type ConnectionOptions, connect as connectTls } from "node:tls";
import { ZooKeeperTestingError } from "./errors.js";

/** Options of {@link fourLetter}. */
export interface FourLetterOptions {
  /** Give up after this many milliseconds. Default 2000. */
  timeoutMs?: number;
  /**
   * Speak TLS with these `tls.connect()` options (CA, client certificate and key): a server's
   * secureClientPort answers four-letter commands too, once the handshake succeeds.
   */
  tls?: ConnectionOptions;
}

/**
 * Sends a ZooKeeper four-letter command (`srvr`, `ruok`, `cons`, `wchc`, `wchp`, `mntr`, …) and resolves
 * with the server's whole answer. Rejects with a `FOUR_LETTER_FAILED` {@link ZooKeeperTestingError} when
 * the connection fails or no complete answer arrives within `timeoutMs` (a paused server, for one).
 * Servers started by this package allow every command (`4lw.commands.whitelist=*`).
 *
 * @example
 * ```ts
 * const answer = await fourLetter("127.0.0.1", zk.port, "srvr");
 * expect(answer).toMatch(/Mode: standalone/);
 * // a TLS-only server (startTlsZooKeeper):
 * await fourLetter(server.host, server.port, "ruok", { tls: { ca, cert, key } }); // "imok"
 * ```
 */
export function fourLetter(
  host: string,
  port: number,
  command: string,
  options?: FourLetterOptions,
): Promise<string> {
  const timeoutMs = options?.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const tls = options?.tls;
    const socket = tls ? connectTls({ ...tls, host, port }) : connect({ host, port });
    const fail = (reason: string, cause?: unknown) => {
      socket.destroy();
      reject(
        new ZooKeeperTestingError(
          "FOUR_LETTER_FAILED",
          `Four-letter command "${command}" to ${host}:${port} ${reason}`,
          {
            cause,
          },
        ),
      );
    };
    socket.setTimeout(timeoutMs, () => fail(`got no complete answer within ${timeoutMs} ms`));
    // A TLS socket says "connect" before its handshake; the command waits for the handshake.
    socket.on(tls ? "secureConnect" : "connect", () => socket.end(command));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => fail(`failed: ${error.message}`, error));
    // The server closes the connection once it has written the whole answer.
    socket.on("end", () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}
