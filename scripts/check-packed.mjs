// Checks the published packages the way a user receives them: packs each one with `pnpm pack` (so
// the .pnpmfile.mjs hook shapes the manifest, as at publish), inspects the packed package.json, installs
// the tarballs with npm into a new project outside the workspace, then imports every entry point from
// CommonJS and ESM and typechecks a consumer under `nodenext`, `bundler` and `node10`.
//
// The install uses --ignore-scripts: the `zookeeper` client would otherwise compile its C library for
// about a minute, and node-gyp may need to download Node's headers. Only @zk-dist-lock/nest loads the
// native module at import, so the binding the workspace already compiled for the same `zookeeper`
// version is copied in. What this checks is our tarballs; the binding is zookeeper's own, built the
// same way. The project is deleted on success and kept (its path printed) on failure.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
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

const execFileAsync = promisify(execFile);
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const published = readdirSync(join(root, "packages"))
  .map((dir) => ({ dir, path: join(root, "packages", dir) }))
  .filter(({ path }) => existsSync(join(path, "package.json")))
  .map((pkg) => ({ ...pkg, manifest: readJson(join(pkg.path, "package.json")) }))
  .filter(({ manifest }) => !manifest.private);
const publishedNames = new Set(published.map(({ manifest }) => manifest.name));

const work = mkdtempSync(join(tmpdir(), "zk-dist-lock-packed-"));
const project = join(work, "project");
mkdirSync(join(work, "tarballs"));
mkdirSync(project);

// npm and tsc run as a user's would: without the npm_* settings pnpm passes to the scripts it runs.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
const run = (command, args, cwd) =>
  execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const attempt = (what, fn) => {
  try {
    fn();
  } catch (error) {
    problems.push(`${what}:\n${[error.stdout, error.stderr].filter(Boolean).join("\n") || error.message}`);
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
writeFileSync(
  join(project, "package.json"),
  `${JSON.stringify({ name: "packed-consumer", private: true, dependencies }, null, 2)}\n`,
);

progress(`packed ${published.length} packages`);
let installed = false;
attempt("npm install of the packed tarballs", () => {
  run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline"], project);
  installed = true;
});
if (installed) {
  progress("installed them with npm");
  attempt("the zookeeper binding", provideZooKeeperBinding);
  checkImports();
  progress("loaded every entry point from CommonJS and ESM");
  await checkTypes();
  progress("typechecked under nodenext, bundler and node10");
}

function provideZooKeeperBinding() {
  const target = join(project, "node_modules", "zookeeper");
  const source = join(root, "packages", "core", "node_modules", "zookeeper");
  const binding = join("build", "Release", "zookeeper.node");
  if (readJson(join(source, "package.json")).version !== readJson(join(target, "package.json")).version) {
    throw new Error("check-packed: the project's zookeeper differs from the workspace's");
  }
  mkdirSync(dirname(join(target, binding)), { recursive: true });
  copyFileSync(join(source, binding), join(target, binding));
}

/** Every entry point loads from CommonJS and from ESM, with the same names, and one core class. */
function checkImports() {
  const specifiers = published.flatMap(({ manifest }) =>
    Object.keys(manifest.exports)
      .filter((subpath) => subpath !== "./package.json")
      .map((subpath) => manifest.name + subpath.slice(1)),
  );
  const names = {};
  for (const [format, load] of [
    ["commonjs", (s) => `require(${JSON.stringify(s)})`],
    // In parentheses, so that `${load(s)}.name` reads the module's export, not the promise's.
    ["module", (s) => `(await import(${JSON.stringify(s)}))`],
  ]) {
    const code = [
      "const names = {};",
      ...specifiers.map((s) => `names[${JSON.stringify(s)}] = Object.keys(${load(s)}).sort();`),
      `if (${load("zk-dist-lock")}.ZkLockManager !== ${load("@zk-dist-lock/core")}.ZkLockManager)`,
      '  throw new Error("zk-dist-lock and @zk-dist-lock/core load two ZkLockManager classes");',
      "console.log(JSON.stringify(names));",
    ].join("\n");
    attempt(`loading every entry point from ${format}`, () => {
      names[format] = JSON.parse(run(process.execPath, [`--input-type=${format}`, "-e", code], project));
    });
  }
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

/** The three compilations run side by side: each is a separate tsc process. */
async function checkTypes() {
  const common = {
    strict: true,
    noEmit: true,
    target: "ES2022",
    lib: ["ES2022"],
    types: ["node"],
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
  };
  // nodenext reads both builds' declarations, and checks them whole (skipLibCheck off) as a strict
  // user's tsc would; the other two check only that the consumer resolves and compiles.
  const setups = {
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
  };
  const compilations = Object.entries(setups).map(async ([name, [compilerOptions, files]]) => {
    const dir = join(project, name);
    mkdirSync(dir);
    for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
    const tsconfig = { compilerOptions: { ...common, ...compilerOptions }, files: Object.keys(files) };
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    try {
      await execFileAsync(process.execPath, [tsc, "-p", dir], { cwd: project, env, encoding: "utf8" });
    } catch (error) {
      problems.push(
        `tsc with moduleResolution ${compilerOptions.moduleResolution}:\n${error.stdout}${error.stderr}`,
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
