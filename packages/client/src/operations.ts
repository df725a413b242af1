// The argument checks, request bodies and reply decoders of the operations, without any state.

import { OPEN_ACL_UNSAFE } from "./acl.js";
import { badArgument, codeName, type MultiOpOutcome, ZooKeeperMultiError } from "./errors.js";
import type { JuteReader, JuteWriter } from "./jute.js";
import { describeValue, validatePath } from "./paths.js";
import { type Acl, OpCode, readStat, type Stat, writeAcls } from "./protocol.js";

/** Node data: bytes, or a string sent as UTF-8. */
export type Data = string | Uint8Array;

/**
 * How a node lives: persistent until deleted, ephemeral (deleted with the session that made it),
 * sequential (the server appends a 10-digit counter to the name), a container (deleted by the
 * server once its last child is gone), or persistent with a TTL (deleted once it has had no child
 * and no change for `ttl` ms; the server needs `zookeeper.extendedTypesEnabled=true`).
 */
export type CreateMode =
  | "persistent"
  | "persistentSequential"
  | "ephemeral"
  | "ephemeralSequential"
  | "container"
  | "persistentWithTtl"
  | "persistentSequentialWithTtl";

/** The CreateMode flags of the protocol. */
const createFlags: Record<CreateMode, number> = {
  persistent: 0,
  ephemeral: 1,
  persistentSequential: 2,
  ephemeralSequential: 3,
  container: 4,
  persistentWithTtl: 5,
  persistentSequentialWithTtl: 6,
};

/** Options of `create()` and of a `create` operation in `multi()`. */
export interface CreateOptions {
  /** Default `"persistent"`. */
  mode?: CreateMode;
  /** Default {@link OPEN_ACL_UNSAFE}. */
  acl?: readonly Acl[];
  /** Time to live in ms, for the two TTL modes only (1 … 2^40 − 1). */
  ttl?: number;
}

/** What `create()` returns: the node's path (with the sequence number, if any) and its stat. */
export interface CreateResult {
  path: string;
  stat: Stat;
}

/** One operation of a `multi()`; all of them apply, or none. */
export type MultiOp =
  | ({ type: "create"; path: string; data?: Data } & CreateOptions)
  | { type: "delete"; path: string; version?: number }
  | { type: "setData"; path: string; data: Data; version?: number }
  /** Fails the transaction unless the node exists with this version (-1: any version). */
  | { type: "check"; path: string; version: number };

/**
 * What one operation of a successful `multi()` returned. A create's `stat` is there when the server
 * sends it: ZooKeeper 3.8 does for container and TTL nodes, and answers other creates with the path alone.
 */
export type MultiResult =
  | { type: "create"; path: string; stat: Stat | undefined }
  | { type: "delete" }
  | { type: "setData"; stat: Stat }
  | { type: "check" };

const MAX_TTL = 2 ** 40 - 1;

/** A version argument: -1 for any, else the version the node must have. */
export function validateVersion(version: unknown, name = "version"): number {
  if (typeof version !== "number" || !Number.isInteger(version) || version < -1 || version > 0x7fffffff) {
    throw badArgument(
      `${name} must be an integer from -1 (any) to 2147483647; got ${describeValue(version)}.`,
    );
  }
  return version;
}

export function toBytes(data: unknown): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof Uint8Array) return data;
  throw badArgument(`Node data must be a string or a Uint8Array (Buffer); got ${describeValue(data)}.`);
}

export function validateAcl(acl: unknown): readonly Acl[] {
  if (acl === undefined) return OPEN_ACL_UNSAFE;
  const valid =
    Array.isArray(acl) &&
    acl.length > 0 &&
    acl.every(
      (entry: Acl | null) =>
        typeof entry === "object" &&
        entry !== null &&
        Number.isInteger(entry.perms) &&
        entry.perms >= 0 &&
        entry.perms <= 31 &&
        typeof entry.scheme === "string" &&
        typeof entry.id === "string",
    );
  if (!valid) {
    throw badArgument(
      'An ACL must be a non-empty array of { perms: 0…31 (Perms), scheme: string, id: string }, e.g. OPEN_ACL_UNSAFE or [{ perms: Perms.ALL, scheme: "digest", id: digestId(user, password) }].',
    );
  }
  return acl;
}

/** A checked create: its request type and a writer of its body (the server path is added later). */
interface CreateRequest {
  opcode: number;
  write(writer: JuteWriter, serverPath: string): void;
}

function prepareCreate(path: unknown, data: unknown, options: CreateOptions): CreateRequest {
  const mode = options.mode ?? "persistent";
  if (!Object.hasOwn(createFlags, mode)) {
    throw badArgument(
      `mode must be one of ${Object.keys(createFlags).join(", ")}; got ${describeValue(mode)}.`,
    );
  }
  const sequential = mode.includes("Sequential");
  validatePath(path, sequential);
  const bytes = toBytes(data);
  const acl = validateAcl(options.acl);
  const withTtl = mode === "persistentWithTtl" || mode === "persistentSequentialWithTtl";
  const ttl = options.ttl;
  if (withTtl) {
    if (typeof ttl !== "number" || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL) {
      throw badArgument(
        `mode "${mode}" needs a ttl: an integer of ms from 1 to ${MAX_TTL}; got ${describeValue(ttl)}.`,
        path as string,
      );
    }
  } else if (ttl !== undefined) {
    throw badArgument(
      `ttl is only for the modes persistentWithTtl and persistentSequentialWithTtl, not "${mode}".`,
      path as string,
    );
  }
  const opcode = mode === "container" ? OpCode.createContainer : withTtl ? OpCode.createTTL : OpCode.create2;
  return {
    opcode,
    write(writer, serverPath) {
      writer.string(serverPath).buffer(bytes);
      writeAcls(writer, acl);
      writer.int(createFlags[mode]);
      if (withTtl) writer.long(BigInt(ttl!));
    },
  };
}

/** The body of a create's reply (Create2Response); every create mode answers with one. */
export function readCreated(reader: JuteReader, toClient: (path: string) => string): CreateResult {
  return { path: toClient(reader.string("path")), stat: readStat(reader) };
}

/**
 * A checked write operation, ready to be written: alone (`create()`, `delete()`, `setData()`) or
 * inside a multi, where every operation has the same body as on its own.
 */
export interface PreparedOp {
  type: MultiOp["type"];
  opcode: number;
  path: string;
  write(writer: JuteWriter, toServer: (path: string) => string): void;
}

/** Checks one operation and prepares its request body; `where` names it in errors ("multi() operation 2"). */
export function prepareOp(op: MultiOp, where: string): PreparedOp {
  if (typeof op !== "object" || op === null) {
    throw badArgument(`${where} must be an object; got ${describeValue(op)}.`);
  }
  switch (op.type) {
    case "create": {
      const { path, data, type: _, ...options } = op;
      const create = prepareCreate(path, data, options);
      return {
        type: op.type,
        opcode: create.opcode,
        path,
        write: (w, toServer) => create.write(w, toServer(path)),
      };
    }
    case "delete": {
      const path = validatePath(op.path);
      const version = validateVersion(op.version ?? -1);
      return {
        type: op.type,
        opcode: OpCode.delete,
        path,
        write: (w, toServer) => w.string(toServer(path)).int(version),
      };
    }
    case "setData": {
      const path = validatePath(op.path);
      const bytes = toBytes(op.data);
      const version = validateVersion(op.version ?? -1);
      return {
        type: op.type,
        opcode: OpCode.setData,
        path,
        write: (w, toServer) => w.string(toServer(path)).buffer(bytes).int(version),
      };
    }
    case "check": {
      const path = validatePath(op.path);
      const version = validateVersion(op.version);
      return {
        type: op.type,
        opcode: OpCode.check,
        path,
        write: (w, toServer) => w.string(toServer(path)).int(version),
      };
    }
    default:
      throw badArgument(
        `${where} has type ${describeValue((op as { type: unknown }).type)}; expected create, delete, setData or check.`,
      );
  }
}

export function prepareMulti(ops: unknown): PreparedOp[] {
  if (!Array.isArray(ops))
    throw badArgument(`multi() takes an array of operations; got ${describeValue(ops)}.`);
  return ops.map((op: MultiOp, index) => prepareOp(op, `multi() operation ${index}`));
}

/** Writes a MultiOperationRecord: each operation behind a MultiHeader, then the closing header. */
export function writeMulti(
  writer: JuteWriter,
  ops: readonly PreparedOp[],
  toServer: (path: string) => string,
): void {
  for (const op of ops) {
    writer.int(op.opcode).bool(false).int(-1);
    op.write(writer, toServer);
  }
  writer.int(-1).bool(true).int(-1);
}

/** The reply types each operation's result may have. */
const resultTypes: Record<MultiOp["type"], readonly number[]> = {
  create: [OpCode.create, OpCode.create2],
  delete: [OpCode.delete],
  setData: [OpCode.setData],
  check: [OpCode.check],
};

/**
 * Reads a MultiResponse. A result of a type the request did not ask for, an unknown type, or
 * more or fewer results than operations is malformed; a refused transaction (an error result) is
 * returned as a {@link ZooKeeperMultiError}, not thrown, since the reply itself was fine.
 */
export function readMulti(
  reader: JuteReader,
  ops: readonly PreparedOp[],
  toClient: (path: string) => string,
): MultiResult[] | ZooKeeperMultiError {
  const results: MultiResult[] = [];
  const outcomes: MultiOpOutcome[] = [];
  let failed = -1;
  for (;;) {
    const type = reader.int("multi.type");
    const done = reader.bool("multi.done");
    reader.int("multi.err");
    if (done) break;
    const op = ops[outcomes.length];
    if (op === undefined) throw reader.malformed(`more results than the ${ops.length} operations sent`);
    if (type === OpCode.error) {
      const rc = reader.int("multi.error");
      outcomes.push({ code: codeName(rc), rc });
      if (failed === -1 && rc !== 0) failed = outcomes.length - 1;
      continue;
    }
    if (!resultTypes[op.type].includes(type)) {
      throw reader.malformed(
        `result ${outcomes.length} has opcode ${type}, but operation ${outcomes.length} is a ${op.type}`,
      );
    }
    outcomes.push({ code: "OK", rc: 0 });
    switch (op.type) {
      case "create":
        results.push(
          type === OpCode.create
            ? { type: "create", path: toClient(reader.string("path")), stat: undefined }
            : { type: "create", ...readCreated(reader, toClient) },
        );
        break;
      case "setData":
        results.push({ type: "setData", stat: readStat(reader) });
        break;
      default:
        results.push({ type: op.type });
    }
  }
  if (outcomes.length !== ops.length) {
    throw reader.malformed(`${outcomes.length} results for ${ops.length} operations`);
  }
  if (failed === -1) {
    if (results.length === ops.length) return results;
    throw reader.malformed("error results without a failing operation");
  }
  const failing = ops[failed]!;
  const code = outcomes[failed]!.code;
  return new ZooKeeperMultiError(
    code === "OK" ? "SYSTEMERROR" : code,
    `ZooKeeper refused the multi() transaction: operation ${failed} (${failing.type} ${failing.path}) failed with ${code} (${outcomes[failed]!.rc}); nothing was applied.`,
    failed,
    outcomes,
    failing.path,
  );
}
