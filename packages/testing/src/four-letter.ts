import { connect } from "node:net";
import { ZooKeeperTestingError } from "./errors.js";

/** Options of {@link fourLetter}. */
export interface FourLetterOptions {
  /** Give up after this many milliseconds. Default 2000. */
  timeoutMs?: number;
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
    const socket = connect({ host, port });
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
    socket.on("connect", () => socket.end(command));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (error) => fail(`failed: ${error.message}`, error));
    // The server closes the connection once it has written the whole answer.
    socket.on("end", () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}
