import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isZooKeeperTestingError, ZooKeeperNotFoundError } from "./errors.js";
import { findZooKeeper } from "./find-zookeeper.js";

const root = mkdtempSync(join(tmpdir(), "zk-testing-find-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function fakeJavaHome(): string {
  const home = join(root, "jdk");
  mkdirSync(join(home, "bin"), { recursive: true });
  writeFileSync(join(home, "bin", "java"), "#!/bin/sh\n");
  chmodSync(join(home, "bin", "java"), 0o755);
  return home;
}

function fakeRelease(version: string): string {
  const home = join(root, `apache-zookeeper-${version}-bin`);
  mkdirSync(join(home, "lib"), { recursive: true });
  for (const jar of [`zookeeper-${version}.jar`, `zookeeper-jute-${version}.jar`, "slf4j-api-1.7.30.jar"]) {
    writeFileSync(join(home, "lib", jar), "");
  }
  return home;
}

const nowhere = { homeCandidates: [], systemJarDirs: [] };

describe("findZooKeeper", () => {
  it("throws one clear ZooKeeperNotFoundError when nothing is installed", () => {
    const bogus = join(root, "does-not-exist");
    let caught: unknown;
    try {
      findZooKeeper({ env: { PATH: bogus }, homeCandidates: [bogus], systemJarDirs: [bogus] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ZooKeeperNotFoundError);
    const error = caught as ZooKeeperNotFoundError;
    expect(error.code).toBe("ZOOKEEPER_NOT_FOUND");
    expect(error.name).toBe("ZooKeeperNotFoundError");
    expect(isZooKeeperTestingError(error)).toBe(true);
    expect(error.message).toContain("sudo apt-get install zookeeper");
    expect(error.message).toContain("ZOOKEEPER_HOME");
    expect(error.searched).toContain(join(bogus, "zookeeper.jar"));
  });

  it("uses ZOOKEEPER_HOME (lib/*.jar) and JAVA_HOME", () => {
    const home = fakeRelease("3.9.3");
    const javaHome = fakeJavaHome();
    const found = findZooKeeper({ env: { ZOOKEEPER_HOME: home, JAVA_HOME: javaHome }, ...nowhere });
    expect(found.source).toBe("ZOOKEEPER_HOME");
    expect(found.java).toBe(join(javaHome, "bin", "java"));
    expect(found.classpath).toContain(join(home, "lib", "zookeeper-3.9.3.jar"));
    expect(found.classpath).toContain(join(home, "lib", "slf4j-api-1.7.30.jar"));
  });

  it("finds java on PATH", () => {
    const javaHome = fakeJavaHome();
    const found = findZooKeeper({
      env: { ZOOKEEPER_HOME: fakeRelease("3.8.4"), PATH: join(javaHome, "bin") },
      ...nowhere,
    });
    expect(found.java).toBe(join(javaHome, "bin", "java"));
  });

  it("reports a ZOOKEEPER_HOME without a server jar instead of looking elsewhere", () => {
    const empty = join(root, "empty-home");
    mkdirSync(join(empty, "lib"), { recursive: true });
    expect(() =>
      findZooKeeper({
        env: { ZOOKEEPER_HOME: empty, JAVA_HOME: fakeJavaHome() },
        homeCandidates: [fakeRelease("3.7.2")],
        systemJarDirs: [],
      }),
    ).toThrow(/ZOOKEEPER_HOME=.*empty-home/);
  });

  it("says Java is missing when only the jars are there", () => {
    expect(() =>
      findZooKeeper({ env: { ZOOKEEPER_HOME: fakeRelease("3.9.1"), PATH: "" }, ...nowhere }),
    ).toThrow(/Java was not found[\s\S]*JAVA_HOME/);
  });

  it("takes ZOOKEEPER_CLASSPATH as given, Java wildcards included", () => {
    const home = fakeRelease("3.9.2");
    const classpath = [join(home, "lib", "*"), join(root, "conf")].join(delimiter);
    const found = findZooKeeper({
      env: { ZOOKEEPER_CLASSPATH: classpath, JAVA_HOME: fakeJavaHome() },
      ...nowhere,
    });
    expect(found).toMatchObject({
      source: "ZOOKEEPER_CLASSPATH",
      classpath: [join(home, "lib", "*"), join(root, "conf")],
    });
  });

  it("finds the Debian/Ubuntu package layout with its log4j backend and netty-codec (for TLS)", () => {
    const dir = join(root, "usr-share-java");
    mkdirSync(dir, { recursive: true });
    for (const jar of ["zookeeper.jar", "slf4j-log4j12.jar", "log4j-1.2.jar", "netty-codec.jar"])
      writeFileSync(join(dir, jar), "");
    const found = findZooKeeper({
      env: { JAVA_HOME: fakeJavaHome() },
      homeCandidates: [],
      systemJarDirs: [dir],
    });
    expect(found).toMatchObject({
      source: "system",
      classpath: [
        join(dir, "zookeeper.jar"),
        join(dir, "slf4j-log4j12.jar"),
        join(dir, "log4j-1.2.jar"),
        join(dir, "netty-codec.jar"),
      ],
    });
  });
});
