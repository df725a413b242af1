// Types of inject("zkConnect"), provided by the root vitest global setup.
/// <reference types="@zk-dist-lock/testing/vitest" />

// Express 4 under its alias, typed as Express 5: the tests use only what the two have alike.
declare module "express4" {
  import express from "express";
  export default express;
}
