// A fake server that answers every request with garbage, from a seeded generator: thousands of
// malformed frames must end in clear ZooKeeperErrors only — no crash, no hang, no other error.
import { createServer, type Server, type Socket } from "node:net";
import { seededRandom } from "@zk-dist-lock/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { isZooKeeperError, ZooKeeperClient, type ZooKeeperError } from "../src/index.js";

const SEED = 0x5eed_2024;
const REQUESTS = 2000;
const SESSION_ID = 0x1234_5678_9abc_def0n;

const rng = seededRandom(SEED);
const below = (n: number) => Math.floor(rng() * n);
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => below(256)));

const framed = (body: Buffer) => {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
};
const header = (xid: number, err: number) => {
  const h = Buffer.alloc(16);
  h.writeInt32BE(xid, 0);
  h.writeBigInt64BE(BigInt(below(1000)), 4);
  h.writeInt32BE(err, 12);
  return h;
};
const lengthPrefix = (length: number) => {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(length, 0);
  return prefix;
};

/** The handshake answer: mostly valid, sometimes garbage, rarely "expired". */
function handshake(): { bytes: Buffer; close: boolean; malformed: boolean } {
  const valid = () => {
    const body = Buffer.alloc(4 + 4 + 8 + 4 + 16 + 1);
    body.writeInt32BE(0, 0);
    body.writeInt32BE(30_000, 4);
    body.writeBigInt64BE(SESSION_ID, 8);
    body.writeInt32BE(16, 16);
    return framed(body);
  };
  const roll = below(100);
  if (roll < 80) return { bytes: valid(), close: false, malformed: false };
  if (roll < 84) return { bytes: framed(bytes(below(40))), close: false, malformed: true }; // random record
  if (roll < 88) return { bytes: valid().subarray(0, 4 + below(20)), close: true, malformed: true }; // cut short
  if (roll < 92) return { bytes: lengthPrefix(0x7fffffff), close: false, malformed: true }; // 2 GiB claimed
  if (roll < 96) return { bytes: lengthPrefix(-1 - below(1000)), close: false, malformed: true };
  if (roll < 98) return { bytes: Buffer.alloc(0), close: true, malformed: false }; // closed without a word
  return { bytes: framed(Buffer.alloc(33)), close: false, malformed: false }; // timeout 0: the session is gone
}

/** A malformed answer to the request with `xid`. */
function garbage(xid: number): { bytes: Buffer; close: boolean } {
  switch (below(10)) {
    case 0:
      return { bytes: framed(bytes(below(64))), close: false };
    case 1:
      return { bytes: Buffer.concat([lengthPrefix(0x40000000 + below(0x3fffffff)), bytes(8)]), close: false };
    case 2:
      return { bytes: Buffer.concat([lengthPrefix(-1 - below(0x7ffffff0)), bytes(8)]), close: false };
    case 3:
      return { bytes: framed(header(xid + 1 + below(100), 0)), close: false }; // out of order
    case 4:
      return { bytes: framed(Buffer.concat([header(xid, 0), bytes(below(120))])), close: false };
    case 5: {
      const whole = framed(Buffer.concat([header(xid, 0), bytes(100)]));
      return { bytes: whole.subarray(0, below(whole.length)), close: true }; // cut mid-frame
    }
    case 6: {
      // A watch event of a type from -1 to 10 (the server sends 1 to 4), its path sometimes cut short.
      const path = Buffer.from("/p");
      const event = Buffer.concat([
        header(-1, 0),
        lengthPrefix(below(12) - 1),
        lengthPrefix(3),
        lengthPrefix(2),
        path,
      ]);
      return {
        bytes: framed(event.subarray(0, below(3) === 0 ? below(event.length) : event.length)),
        close: false,
      };
    }
    case 7:
      return { bytes: framed(header(-4, below(2) === 0 ? 0 : -115)), close: false }; // unasked auth answer
    case 8:
      // A vector claiming far more elements than the frame holds.
      return {
        bytes: framed(Buffer.concat([header(xid, 0), lengthPrefix(0x7fffff00), bytes(16)])),
        close: false,
      };
    default: {
      // A multi-style body with an opcode no reply has.
      const body = Buffer.concat([header(xid, 0), lengthPrefix(777), Buffer.from([0]), lengthPrefix(0)]);
      return { bytes: framed(body), close: false };
    }
  }
}

let server: Server;
let port = 0;
let malformedFrames = 0;

/** The fake server: a handshake answer, then for every request its garbage and a clean NONODE. */
function serve(socket: Socket): void {
  socket.on("error", () => {});
  let pending = Buffer.alloc(0);
  let handshaken = false;
  socket.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
      pending = pending.subarray(4 + frame.length);
      const answer = handshaken ? undefined : handshake();
      handshaken = true;
      if (answer) {
        if (answer.malformed) malformedFrames++;
        socket.write(answer.bytes);
        if (answer.close) socket.end();
        continue;
      }
      const xid = frame.readInt32BE(0);
      if (xid === -2) {
        socket.write(framed(header(-2, 0)));
        continue;
      }
      const bad = garbage(xid);
      malformedFrames++;
      socket.write(bad.bytes);
      if (bad.close) {
        socket.end();
        return;
      }
      // If the garbage did not end the connection, the request still gets a clean answer.
      socket.write(framed(header(xid, -101)));
    }
  });
}

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const requests: ((zk: ZooKeeperClient) => Promise<unknown>)[] = [
  (zk) => zk.getData("/a"),
  (zk) => zk.getChildren("/a", { watcher: () => {} }),
  (zk) => zk.exists("/a", { watcher: () => {} }),
  (zk) => zk.create("/a", "x", { mode: "ephemeralSequential" }),
  (zk) => zk.setData("/a", "x"),
  (zk) => zk.getACL("/a"),
  (zk) => zk.delete("/a"),
  (zk) =>
    zk.multi([
      { type: "create", path: "/a" },
      { type: "check", path: "/b", version: 1 },
    ]),
];

it(`ends thousands of malformed frames in clear errors only (seed ${SEED.toString(16)})`, async () => {
  const errors: ZooKeeperError[] = [];
  const others: unknown[] = [];
  const note = (error: unknown) =>
    (isZooKeeperError(error) && error.message.length > 0 ? errors : others).push(error);
  const clients: ZooKeeperClient[] = [];
  let zk: ZooKeeperClient | undefined;
  let resolved = 0;
  for (let i = 0; i < REQUESTS; i++) {
    // A garbage handshake can expire the session (timeout 0) or an auth answer fail it: start over.
    if (zk === undefined || ["expired", "closed", "authFailed"].includes(zk.state)) {
      zk = new ZooKeeperClient(`127.0.0.1:${port}`, {
        sessionTimeout: 30_000,
        reconnectDelay: { initialMs: 1, maxMs: 2 },
      });
      zk.on("state", (_state, change) => {
        if (change.error) note(change.error);
      });
      clients.push(zk);
      try {
        await zk.start();
      } catch (error) {
        note(error);
        continue;
      }
    }
    try {
      await requests[below(requests.length)]!(zk);
      resolved++;
    } catch (error) {
      note(error);
    }
  }
  await Promise.all(clients.map((client) => client.close()));
  expect(others).toEqual([]);
  expect(malformedFrames).toBeGreaterThanOrEqual(REQUESTS);
  const codes = new Set(errors.map((error) => error.code));
  // What garbage can lead to; nothing else (a RangeError, a TypeError…) may come out.
  for (const code of codes) {
    expect([
      "CONNECTIONLOSS",
      "MARSHALLINGERROR",
      "NONODE",
      "SESSIONEXPIRED",
      "AUTHFAILED",
      "CLOSING",
      "OPERATIONTIMEOUT",
      "SYSTEMERROR",
    ]).toContain(code);
  }
  expect(codes).toContain("MARSHALLINGERROR");
  expect(codes).toContain("CONNECTIONLOSS");
  const messages = errors.map((error) => error.message).join("\n");
  expect(messages).toContain("outside 0…1114112 (maxPacketBytes, ZooKeeper's jute.maxbuffer)");
  expect(messages).toContain("in the middle of a frame");
  expect(messages).toMatch(/a reply with xid \d+, but the next one due is \d+/);
  expect(messages).toMatch(/sent a watch event of unknown type/);
  expect(messages).toMatch(/result 0 has opcode 777, but operation 0 is a create/);
  expect(resolved + errors.length).toBeGreaterThanOrEqual(REQUESTS);
}, 120_000);
