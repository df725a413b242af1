// Checks the published packages the way a user receives them: packs each one with `pnpm pack` (so
// the .pnpmfile.mjs hook shapes the manifest, as at publish), inspects the packed package.json, installs
// the tarballs with npm into a new project outside the workspace, then imports every entry point from
// CommonJS and ESM and typechecks a consumer under `nodenext`, `bundler` and `node10`. A second
// project installs the same tarballs without `zookeeper`, the optional peer, as a user of
// @zk-dist-lock/client alone would: every entry point loads, `client: "zookeeper"` fails as
// documented, and a consumer of every package but the testing kit typechecks with skipLibCheck off
// under `nodenext` and `bundler`, so none of their declarations needs the package.
//
// The install uses --ignore-scripts: the `zookeeper` client would otherwise compile its C library for
// about a minute, and node-gyp may need to download Node's headers. No entry point loads the native
// module at import (the second project shows it), so none is built: what this checks is our
// tarballs. The project is deleted on success and kept (its path printed) on failure.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const repository = "git+https://github.com/zk-dist-lock/zk-dist-lock.git";
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const problems = [];
const started = Date.now();
const progress = (message) =>
  console.log(`check-packed: ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)`);

// Uses every package the way the READMEs do, so a wrong or missing declaration fails to compile.
const consumer = `import { Injectable } from "@nestjs/common";
import { isZooKeeperError, ZooKeeperClient } from "@zk-dist-lock/client";
import { isLockError, type LockOptions, ZkLockManager } from "@zk-dist-lock/core";
import { distributedLock, getLock, type RouteLock } from "@zk-dist-lock/express";
import { currentLock, DistributedLock, ZkLockModule } from "@zk-dist-lock/nest";
import { instrumentZkDistLock } from "@zk-dist-lock/opentelemetry";
import { startZooKeeper, waitFor } from "@zk-dist-lock/testing";
import { zooKeeperGlobalSetup } from "@zk-dist-lock/testing/vitest";
import type { RequestHandler, Response } from "express";
import * as unscoped from "zk-dist-lock";
import ZooKeeper from "zookeeper";

const options: LockOptions = { rootDir: "/app/locks", acquireTimeout: 2000 };
const client = new ZooKeeper({ connect: "127.0.0.1:2181", timeout: 5000 });
// One class whichever name it is imported by: the Nest module and the middleware take either.
const manager: ZkLockManager = new unscoped.ZkLockManager(options).init(client);
export const lockModule = ZkLockModule.forRoot({ manager, acquireTimeout: 5000 });
export const pay: RequestHandler<{ id: string }> = distributedLock<{ id: string }>(manager, {
  key: (req) => \`invoice:\${req.params.id}\`,
});
export const lockOf = (res: Response): RouteLock => getLock(res);

@Injectable()
export class OrderService {
  @DistributedLock((orderId: string) => \`order:\${orderId}\`)
  async ship(orderId: string): Promise<string> {
    const { token, signal }: { token: bigint; signal: AbortSignal } = currentLock();
    signal.throwIfAborted();
    return \`\${orderId}:\${token}\`;
  }
}

export async function work(): Promise<bigint> {
  const lock = manager.createLock("resource");
  const token: bigint = await lock.acquire({ timeout: 0 });
  try {
    return token;
  } finally {
    await lock.release();
  }
}

export const instrumentation = instrumentZkDistLock({ resourceAttribute: (resource) => resource.split(":")[0] });
export const connectPure = (): Promise<ZooKeeperClient> => ZooKeeperClient.connect("127.0.0.1:2181");
export const helpers = [isZooKeeperError, isLockError, startZooKeeper, waitFor, zooKeeperGlobalSetup({ tickTime: 500 })];
`;
// ESM only: vitest is an ES module, and the setup module types inject("zkConnect").
const esmOnly = `
import { inject } from "vitest";
export const connect: () => string = () => inject("zkConnect");
`;

// Without zookeeper installed: what a user of @zk-dist-lock/client alone writes, the binding's
// structural client type included. It leaves out the testing kit, which types its helpers with zookeeper.
const bareConsumer = `import { ZooKeeperClient } from "@zk-dist-lock/client";
import { type ZkClient, ZkLockManager, type ZooKeeperBindingClient } from "@zk-dist-lock/core";
import { distributedLock } from "@zk-dist-lock/express";
import { ZkLockModule } from "@zk-dist-lock/nest";
import { instrumentZkDistLock } from "@zk-dist-lock/opentelemetry";
import * as unscoped from "zk-dist-lock";

const zk: ZkClient = new ZooKeeperClient("127.0.0.1:2181", { sessionTimeout: 10_000 });
const manager: ZkLockManager = new unscoped.ZkLockManager({ rootDir: "/app/locks" }).init(zk);
export const lockModule = ZkLockModule.forRoot({ client: zk });
export const sharedModule = ZkLockModule.forRoot({ manager });
export const pay = distributedLock(manager, { key: "invoice" });
export const binding = (client: ZkClient): ZooKeeperBindingClient | undefined =>
  client instanceof ZooKeeperClient ? undefined : client;
export const owned = (): Promise<ZkLockManager> => ZkLockManager.connect("127.0.0.1:2181", { client: "zookeeper" });
export const instrumentation = instrumentZkDistLock();
`;

const execFileAsync = promisify(execFile);
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const published = readdirSync(join(root, "packages"))
  .map((dir) => ({ dir, path: join(root, "packages", dir) }))
  .filter(({ path }) => existsSync(join(path, "package.json")))
  .map((pkg) => ({ ...pkg, manifest: readJson(join(pkg.path, "package.json")) }))
  .filter(({ manifest }) => !manifest.private);
const publishedNames = new Set(published.map(({ manifest }) => manifest.name));
/** Every entry point of the published packages, as a user imports it. */
const specifiers = published.flatMap(({ manifest }) =>
  Object.keys(manifest.exports)
    .filter((subpath) => subpath !== "./package.json")
    .map((subpath) => manifest.name + subpath.slice(1)),
);
// In parentheses, so that `${load(s)}.name` reads the module's export, not the promise's.
const loaders = [
  ["commonjs", (s) => `require(${JSON.stringify(s)})`],
  ["module", (s) => `(await import(${JSON.stringify(s)}))`],
];

const work = mkdtempSync(join(tmpdir(), "zk-dist-lock-packed-"));
const project = join(work, "project");
const bare = join(work, "without-zookeeper");
mkdirSync(join(work, "tarballs"));
mkdirSync(project);
mkdirSync(bare);

// npm and tsc run as a user's would: without the npm_* settings pnpm passes to the scripts it runs.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
const run = (command, args, cwd) =>
  execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const failed = (what, error) =>
  problems.push(`${what}:\n${[error.stdout, error.stderr].filter(Boolean).join("\n") || error.message}`);
const attempt = (what, fn) => {
  try {
    fn();
  } catch (error) {
    failed(what, error);
  }
};

for (const pkg of published) {
  const { name, version } = pkg.manifest;
  run("pnpm", ["pack", "--pack-destination", join(work, "tarballs")], pkg.path);
  pkg.tarball = join(work, "tarballs", `${name.replace("@", "").replace("/", "-")}-${version}.tgz`);
  const unpacked = join(work, "unpacked", pkg.dir);
  mkdirSync(unpacked, { recursive: true });
  run("tar", ["-xzf", pkg.tarball, "-C", unpacked]);
  checkManifest(pkg, join(unpacked, "package"));
}

/** What the registry will show and what npm will read: metadata, no repository-only fields. */
function checkManifest(pkg, dir) {
  const { name } = pkg.manifest;
  const packed = readJson(join(dir, "package.json"));
  const text = JSON.stringify(packed);
  const expect = (ok, message) => ok || problems.push(`${name}: packed package.json ${message}`);
  expect(packed.scripts === undefined, "keeps the repository's scripts");
  expect(packed.devDependencies === undefined, "keeps devDependencies");
  expect(!text.includes("workspace:"), "keeps a workspace: range");
  expect(
    packed.repository?.url === repository && packed.repository?.directory === `packages/${pkg.dir}`,
    `has repository ${JSON.stringify(packed.repository)}`,
  );
  expect(packed.homepage?.startsWith("https://github.com/zk-dist-lock/zk-dist-lock"), "has no homepage");
  expect(packed.bugs?.url?.startsWith("https://github.com/zk-dist-lock/zk-dist-lock"), "has no bugs URL");
  for (const group of ["dependencies", "peerDependencies", "optionalDependencies"]) {
    for (const dep of Object.keys(packed[group] ?? {})) {
      expect(
        !dep.startsWith("@zk-dist-lock/") || publishedNames.has(dep),
        `${group} names unpublished ${dep}`,
      );
    }
  }
  for (const file of ["README.md", "LICENSE"]) {
    if (!existsSync(join(dir, file))) problems.push(`${name}: the tarball has no ${file}`);
  }
}

/** The version of `dep` that the workspace tests with, so the project installs what was tested. */
function workspaceVersion(dep) {
  for (const dir of [root, ...published.map(({ path }) => path), join(root, "packages", "bench")]) {
    const manifest = join(dir, "node_modules", dep, "package.json");
    if (existsSync(manifest)) return readJson(manifest).version;
  }
  throw new Error(`check-packed: ${dep} is not installed in the workspace; run pnpm install`);
}

const thirdParty = new Set(["@types/node", "@types/express"]);
for (const { manifest } of published) {
  for (const dep of Object.keys(manifest.peerDependencies ?? {})) {
    if (!publishedNames.has(dep)) thirdParty.add(dep);
  }
}
const dependencies = Object.fromEntries([
  ...published.map(({ manifest, tarball }) => [manifest.name, `file:${tarball}`]),
  ...[...thirdParty].sort().map((dep) => [dep, workspaceVersion(dep)]),
]);
const { zookeeper, ...withoutZooKeeper } = dependencies;
for (const [dir, name, deps] of [
  [project, "packed-consumer", dependencies],
  [bare, "packed-consumer-without-zookeeper", withoutZooKeeper],
]) {
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name, private: true, dependencies: deps }, null, 2)}\n`,
  );
}

progress(`packed ${published.length} packages`);
// The two installs run side by side: npm spends most of their time waiting on its cache.
const [installed, installedBare] = await Promise.all(
  [
    ["npm install of the packed tarballs", project],
    ["npm install of the packed tarballs without zookeeper", bare],
  ].map(([what, dir]) =>
    execFileAsync("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], {
      cwd: dir,
      env,
      encoding: "utf8",
    }).then(
      () => true,
      (error) => {
        failed(what, error);
        return false;
      },
    ),
  ),
);
if (installed) {
  progress("installed them with npm");
  checkImports();
  progress("loaded every entry point from CommonJS and ESM");
  await checkTypes(project, {
    // nodenext reads both builds' declarations, and checks them whole (skipLibCheck off) as a strict
    // user's tsc would; the other two check only that the consumer resolves and compiles.
    nodenext: [
      { module: "nodenext", moduleResolution: "nodenext", skipLibCheck: false },
      { "esm.mts": consumer + esmOnly, "cjs.cts": consumer },
    ],
    bundler: [
      { module: "esnext", moduleResolution: "bundler", esModuleInterop: true, skipLibCheck: true },
      { "bundler.ts": consumer + esmOnly },
    ],
    node10: [
      { module: "commonjs", moduleResolution: "node10", esModuleInterop: true, skipLibCheck: true },
      { "node10.ts": consumer },
    ],
  });
  progress("typechecked under nodenext, bundler and node10");
}
if (installedBare) {
  await checkWithoutZooKeeper();
  progress("loaded every entry point and typechecked a consumer without zookeeper");
}

/** Loads `specifiers` in `dir` from CommonJS and from ESM, then runs `after(load)`: their export names by format. */
function loadEntryPoints(dir, specifiers, after, what) {
  const names = {};
  for (const [format, load] of loaders) {
    const code = [
      "const names = {};",
      ...specifiers.map((s) => `names[${JSON.stringify(s)}] = Object.keys(${load(s)}).sort();`),
      after(load),
      "console.log(JSON.stringify(names));",
    ].join("\n");
    attempt(`loading ${what} from ${format}`, () => {
      names[format] = JSON.parse(run(process.execPath, [`--input-type=${format}`, "-e", code], dir));
    });
  }
  return names;
}

/** Every entry point loads from CommonJS and from ESM, with the same names, and one core class. */
function checkImports() {
  const names = loadEntryPoints(
    project,
    specifiers,
    (load) =>
      [
        `if (${load("zk-dist-lock")}.ZkLockManager !== ${load("@zk-dist-lock/core")}.ZkLockManager)`,
        '  throw new Error("zk-dist-lock and @zk-dist-lock/core load two ZkLockManager classes");',
      ].join("\n"),
    "every entry point",
  );
  for (const specifier of specifiers) {
    const [cjs, esm] = [names.commonjs?.[specifier], names.module?.[specifier]];
    if (cjs?.length === 0) problems.push(`${specifier}: require() gives no exports`);
    if (
      cjs &&
      esm &&
      cjs.filter((n) => n !== "default").join() !== esm.filter((n) => n !== "default").join()
    ) {
      problems.push(`${specifier}: CommonJS exports ${cjs} but ESM exports ${esm}`);
    }
  }
  const bin = spawnSync(join(project, "node_modules", ".bin", "zk-dist-lock-testing"), ["--help"], {
    cwd: project,
    env,
    encoding: "utf8",
  });
  if (bin.status !== 0 || !`${bin.stdout}${bin.stderr}`.includes("Usage")) {
    problems.push(
      `zk-dist-lock-testing --help exited ${bin.status}: ${bin.stdout}${bin.stderr}${bin.error ?? ""}`,
    );
  }
}

/**
 * Without zookeeper, as the READMEs promise: npm leaves the optional peer out, every entry point
 * loads, `client: "zookeeper"` fails at once naming the install, and no declaration of the packages
 * but the testing kit (whose helpers for the binding are typed with it) needs zookeeper.
 */
async function checkWithoutZooKeeper() {
  if (existsSync(join(bare, "node_modules", "zookeeper"))) {
    problems.push("npm installed zookeeper, an optional peer, for a project that does not depend on it");
  }
  loadEntryPoints(
    bare,
    specifiers,
    // An async function, since CommonJS has no top-level await; a failure sets the exit code.
    (load) => `(async () => {
  const refusal = await ${load("@zk-dist-lock/core")}.ZkLockManager.connect("127.0.0.1:1", { client: "zookeeper" })
    .then(() => new Error('connect() with client "zookeeper" resolved without zookeeper installed'), (error) => error);
  if (refusal.code !== "INVALID_ARGUMENT" || !refusal.message.includes("npm install zookeeper")) throw refusal;
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});`,
    "every entry point without zookeeper",
  );
  await checkTypes(bare, {
    nodenext: [
      { module: "nodenext", moduleResolution: "nodenext", skipLibCheck: false },
      { "esm.mts": bareConsumer, "cjs.cts": bareConsumer },
    ],
    bundler: [
      { module: "esnext", moduleResolution: "bundler", esModuleInterop: true, skipLibCheck: false },
      { "bundler.ts": bareConsumer },
    ],
  });
}

/** Compiles each setup's files in `dir`, side by side: each is a separate tsc process. */
async function checkTypes(dir, setups) {
  const common = {
    strict: true,
    noEmit: true,
    target: "ES2022",
    lib: ["ES2022"],
    types: ["node"],
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
  };
  const compilations = Object.entries(setups).map(async ([name, [compilerOptions, files]]) => {
    const setup = join(dir, name);
    mkdirSync(setup);
    for (const [file, text] of Object.entries(files)) writeFileSync(join(setup, file), text);
    const tsconfig = { compilerOptions: { ...common, ...compilerOptions }, files: Object.keys(files) };
    writeFileSync(join(setup, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    try {
      await execFileAsync(process.execPath, [tsc, "-p", setup], { cwd: dir, env, encoding: "utf8" });
    } catch (error) {
      problems.push(
        `tsc in ${dir} with moduleResolution ${compilerOptions.moduleResolution}:\n${error.stdout}${error.stderr}`,
      );
    }
  });
  await Promise.all(compilations);
}

if (problems.length > 0) {
  console.error(`check-packed: ${problems.length} problem(s); the project is kept in ${work}\n`);
  for (const problem of problems) console.error(`- ${problem}\n`);
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
progress("all good");
