// pnpm hooks for this workspace. `beforePacking` shapes the package.json that `pnpm pack` and
// `pnpm publish` (which `changeset publish` runs) put in the tarball; the files in the repository stay
// as they are. `pnpm check-exports` inspects the packed manifests (scripts/check-packed.mjs).
export const hooks = {
  beforePacking(manifest) {
    // The scripts only work inside this repository (`node ../../scripts/…`), and the dev dependencies
    // name workspace packages that are never published (@zk-dist-lock/lock-contract): a user's tools
    // that read them would fail. Nothing a consumer installs or runs needs either.
    delete manifest.scripts;
    delete manifest.devDependencies;
    return manifest;
  },
};
