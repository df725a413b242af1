import { expect, it } from "vitest";
import { parseChaosOptions, UsageError } from "./options.js";

it("reads --seconds, --seed and --workers, with defaults and a random seed", () => {
  expect(parseChaosOptions([], () => 42)).toEqual({ seconds: 180, seed: 42, workers: 4 });
  expect(parseChaosOptions(["--", "--seconds", "60", "--seed", "7", "--workers", "3"], () => 42)).toEqual({
    seconds: 60,
    seed: 7,
    workers: 3,
  });
  expect(parseChaosOptions(["--help"], () => 42)).toBeUndefined();
  for (const bad of [["--seconds", "5"], ["--seed", "-1"], ["--workers", "2.5"], ["--fast"]]) {
    expect(() => parseChaosOptions(bad, () => 42), bad.join(" ")).toThrow(UsageError);
  }
});
