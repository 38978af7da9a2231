/**
 * The `operon` command on a Node.js too old for it: a message saying which version is needed and
 * how to get it, before anything that would fail on `.ts` files is loaded.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { stripTypeScriptTypes } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { nodeVersionProblem } from "./node-version.ts";

test("versions before 22.18 are refused with what to do", () => {
  for (const version of ["18.20.4", "20.19.2", "22.17.1", "21.7.3"]) {
    const problem = nodeVersionProblem(version, "/usr/bin/node");
    assert.ok(problem, version);
    assert.match(
      problem,
      new RegExp(`this is Node\\.js ${version.replaceAll(".", "\\.")} \\(/usr/bin/node\\)`),
    );
    assert.match(problem, /needs Node\.js 22\.18 or newer/);
    assert.match(problem, /Unknown file extension "\.ts"/);
    assert.match(problem, /npm test, npm start/);
    assert.match(problem, /nvm install 24/);
  }
  for (const version of ["22.18.0", "22.20.1", "23.0.0", "24.21.0", "26.1.0"]) {
    assert.equal(nodeVersionProblem(version, "/usr/bin/node"), undefined, version);
  }
});

/** The machine's own node, when it is older than Operon supports (Debian's is Node 20). */
const oldNode = ["/usr/bin/node", "/usr/local/bin/node"].find((path) => {
  if (!existsSync(path)) return false;
  const version = spawnSync(path, ["--version"], { encoding: "utf8" }).stdout.trim().slice(1);
  return nodeVersionProblem(version, path) !== undefined;
});

test("the bin says so on an old Node.js before loading the command", {
  skip: oldNode ? false : "no Node.js older than 22.18 on this machine",
}, async () => {
  // The bin as npm installs it: compiled to JavaScript, beside a command that must not load.
  const dir = await mkdtemp(join(tmpdir(), "operon-bin-"));
  try {
    const compile = async (name: string) =>
      stripTypeScriptTypes(await readFile(new URL(`./${name}.ts`, import.meta.url), "utf8"))
        .replace("./node-version.ts", "./node-version.js")
        .replace("./main.ts", "./main.js");
    await writeFile(join(dir, "package.json"), '{ "type": "module" }');
    await writeFile(join(dir, "bin.js"), await compile("bin"));
    await writeFile(join(dir, "node-version.js"), await compile("node-version"));
    await writeFile(join(dir, "main.js"), 'console.log("the command ran");');
    const old = spawnSync(oldNode!, [join(dir, "bin.js"), "install", "x.ts"], { encoding: "utf8" });
    assert.equal(old.status, 1);
    assert.match(old.stderr, /^operon needs Node\.js 22\.18 or newer/);
    assert.doesNotMatch(old.stdout, /the command ran/);
    const current = spawnSync(process.execPath, [join(dir, "bin.js")], { encoding: "utf8" });
    assert.equal(current.status, 0, current.stderr);
    assert.match(current.stdout, /the command ran/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
