import { describe, expect, it } from "vitest";
import { parseDemoOptions, UsageError } from "./options.js";

describe("parseDemoOptions", () => {
  it("has defaults that tell the story in a few seconds", () => {
    expect(parseDemoOptions([])).toEqual({
      workers: 3,
      durationMs: 8000,
      sessionTimeoutMs: 2000,
      fenced: true,
    });
  });

  it("reads every option, also after the `--` that `pnpm demo -- …` passes on", () => {
    const args = ["--workers", "4", "--duration", "5", "--session-timeout", "1500", "--no-fencing"];
    const expected = { workers: 4, durationMs: 5000, sessionTimeoutMs: 1500, fenced: false };
    expect(parseDemoOptions(args)).toEqual(expected);
    expect(parseDemoOptions(["--", ...args])).toEqual(expected);
  });

  it("returns undefined for --help", () => {
    expect(parseDemoOptions(["--help"])).toBeUndefined();
  });

  it.each([
    [["--workers", "1"], /--workers must be a whole number from 2 to 10; got "1"/],
    [["--duration", "1.5"], /--duration must be a whole number/],
    [["--session-timeout", "abc"], /--session-timeout must be a whole number/],
    [["--fencing"], /Unknown option '--fencing'/],
    [["extra"], /extra/],
  ])("refuses %j with a UsageError", (args, message) => {
    expect(() => parseDemoOptions(args)).toThrow(UsageError);
    expect(() => parseDemoOptions(args)).toThrow(message);
  });
});
