#!/usr/bin/env bash
# Prepares a machine for this repository; safe to run any number of times.
#   1. the pinned pnpm (from package.json's packageManager field)
#   2. the workspace's packages, exactly as pnpm-lock.yaml pins them
#   3. a ZooKeeper server for the tests and the demo (Debian/Ubuntu package when run as root)
# Pass --with-curator to also install Apache Curator, which `pnpm bench` compares against.
set -euo pipefail
cd "$(dirname "$0")/.."

with_curator=false
for arg in "$@"; do
  case "$arg" in
    --with-curator) with_curator=true ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

# node-gyp builds the zookeeper client against the installed Node headers instead of downloading them.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi

pnpm_version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$pnpm_version" ]; then
  echo "setup: installing pnpm $pnpm_version"
  npm install --global --save-exact "pnpm@$pnpm_version"
fi

apt_packages=()
pnpm install --frozen-lockfile

# @zk-dist-lock/testing decides where ZooKeeper is; ask it rather than guessing here.
pnpm --silent exec tsx --conditions=@zk-dist-lock/source packages/testing/src/cli.ts find >/dev/null 2>&1 ||
  apt_packages+=(zookeeper)
if $with_curator && [ ! -f /usr/share/java/curator-recipes.jar ]; then apt_packages+=(libcurator-recipes-java); fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${apt_packages[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_packages[@]}" >/dev/null
  else
    echo "setup: please install ${apt_packages[*]} (Debian/Ubuntu: sudo apt-get install ${apt_packages[*]})," >&2
    echo "       or set ZOOKEEPER_HOME to an unpacked Apache ZooKeeper release. Continuing without it." >&2
  fi
fi
