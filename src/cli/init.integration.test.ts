/**
 * `operon init` end to end, as a user meets it: this repository built and packed with `npm pack`,
 * a project scaffolded against that tarball in an empty directory, and the project's own
 * `npm test` run there: it installs the dependencies (with the pinned Node.js 24), type-checks
 * against the packed type declarations, and passes its unit test and its integration test on a
 * local control plane of its own. Slow (npm install); it runs once.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("./main.ts", import.meta.url));

interface Result {
  code: number | null;
  output: string;
}

/**
 * Runs a command with a clean environment: no shared control plane (the project starts its own,
 * as it would for a user), nothing of this repository's npm run (its `node-options` would make
 * Node look for the package's TypeScript sources, which a packed package does not ship), and
 * nothing of this test run (a `node --test` inside a test would skip its files).
 */
function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Result> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    const inherited =
      key.startsWith("npm_") ||
      key === "NODE_OPTIONS" ||
      key.startsWith("NODE_TEST") ||
      key.startsWith("OPERON_TEST_");
    if (inherited) continue;
    env[key] = value;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

let dir: string;
let project: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "operon-init-e2e-"));
  project = join(dir, "gizmos");
});
after(() => rm(dir, { recursive: true, force: true }));

test("a scaffolded project passes its own npm test against the packed operon", {
  timeout: 20 * 60_000,
}, async () => {
  // Build a copy of the repository with the published build configuration, then pack it as npm
  // would publish it.
  const stage = join(dir, "stage");
  await mkdir(stage);
  for (const entry of [
    "bin",
    "src",
    "package.json",
    "tsconfig.json",
    "tsconfig.build.json",
    "README.md",
  ]) {
    await cp(join(root, entry), join(stage, entry), { recursive: true });
  }
  await symlink(join(root, "node_modules"), join(stage, "node_modules"), "dir");
  // `npm pack` builds first (the prepack script), as `npm publish` does.
  const pack = await run("npm", ["pack", "--pack-destination", dir], stage, 5 * 60_000);
  assert.equal(pack.code, 0, `npm pack failed:\n${pack.output}`);
  const tarball = (await readdir(dir)).find((name) => /^kube-operon-.*\.tgz$/.test(name));
  assert.ok(tarball, `a tarball in ${dir}`);

  const init = await run(
    process.execPath,
    [
      "--conditions=operon-source",
      cli,
      "init",
      "gizmos",
      "--kind",
      "Gizmo",
      "--group",
      "init-test.operon.example.com",
      "--operon",
      join(dir, tarball),
    ],
    dir,
    60_000,
  );
  assert.equal(init.code, 0, init.output);

  const npmTest = await run("npm", ["test"], project, 15 * 60_000);
  assert.equal(npmTest.code, 0, `npm test failed:\n${npmTest.output}`);
  assert.match(npmTest.output, /installing npm dependencies/);
  assert.match(npmTest.output, /✔ sync returns a ConfigMap with the message/);
  assert.match(npmTest.output, /✔ a Gizmo gets a ConfigMap with its message/);
  assert.match(npmTest.output, /ℹ pass 2\n/);
  assert.match(npmTest.output, /ℹ fail 0\n/);

  const version = await run(
    join(project, "node_modules", ".bin", "node"),
    ["--version"],
    project,
    60_000,
  );
  assert.match(version.output, /^v24\./, "the pinned Node.js runs the tests");
});

test("the packed operon command runs in the scaffolded project", async () => {
  // A Node.js too old for Operon (the machine's own, when it is one) gets told what to do.
  const machineNode = "/usr/bin/node";
  const machineVersion = existsSync(machineNode)
    ? (await run(machineNode, ["--version"], project, 60_000)).output.trim()
    : "";
  if (/^v(1\d|2[01])\.|^v22\.(\d|1[0-7])\./.test(machineVersion)) {
    const old = await run(
      machineNode,
      [join(project, "node_modules", ".bin", "operon"), "install", "src/operator.ts"],
      project,
      60_000,
    );
    assert.equal(old.code, 1, old.output);
    assert.match(
      old.output,
      /^operon needs Node\.js 22\.18 or newer \(24 recommended\); this is Node\.js /,
    );
    assert.doesNotMatch(old.output, /ERR_UNKNOWN_FILE_EXTENSION/);
  }

  const generate = await run(
    "npm",
    ["run", "--silent", "generate", "--", "--out", "-"],
    project,
    120_000,
  );
  assert.equal(generate.code, 0, generate.output);
  assert.match(generate.output, /kind: Deployment/);

  // The installed command scaffolds projects that depend on the tarball it came from.
  const nested = await run(
    join(project, "node_modules", ".bin", "node"),
    [join(project, "node_modules", ".bin", "operon"), "init", "nested", "--kind", "Thing"],
    project,
    60_000,
  );
  assert.equal(nested.code, 0, nested.output);
  const nestedPackage = JSON.parse(await readFile(join(project, "nested", "package.json"), "utf8"));
  const tarball = (await readdir(dir)).find((name) => /^kube-operon-.*\.tgz$/.test(name))!;
  assert.equal(nestedPackage.dependencies["kube-operon"], `file:${join(dir, tarball)}`);
});
