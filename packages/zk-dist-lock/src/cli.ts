#!/usr/bin/env node
// `npx zk-dist-lock locks --connect …`: the operator view that ships with @zk-dist-lock/core.
import "@zk-dist-lock/core/cli";
