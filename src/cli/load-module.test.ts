/**
 * How the commands find a user's module, without a cluster: a folder stands for its one module,
 * and every mistake is an error that names what was passed and what to pass instead.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
const operonIndex = fileURLToPath(new URL("../index.ts", import.meta.url));
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "operon-modules-"));
  const kind = `import { defineResource, Type } from ${JSON.stringify(operonIndex)};
export const Gizmo = defineResource({
  group: "example.com", version: "v1", kind: "Gizmo", plural: "gizmos", scope: "Namespaced",
  spec: Type.Object({ size: Type.Integer() }),
});
`;
  const operator = `import { ConfigMap, defineOperator } from ${JSON.stringify(operonIndex)};
import { Gizmo } from "./gizmo.ts";
export default defineOperator({ name: "gizmo", parent: Gizmo, children: { configMaps: ConfigMap }, sync: () => ({}) });
`;
  await mkdir(join(dir, "project", "src"), { recursive: true });
  await writeFile(join(dir, "project", "src", "gizmo.ts"), kind);
  await writeFile(join(dir, "project", "src", "operator.ts"), operator);
  await writeFile(join(dir, "project", "src", "operator.test.ts"), "");
  await mkdir(join(dir, "two"));
  await writeFile(join(dir, "two", "a.ts"), kind);
  await writeFile(join(dir, "two", "b.ts"), kind);
  await mkdir(join(dir, "empty"));
  await writeFile(join(dir, "empty", "README.md"), "");
});
after(() => rm(dir, { recursive: true, force: true }));

function operon(...args: string[]) {
  const result = spawnSync(
    process.execPath,
    ["--conditions=operon-source", join(root, "src/cli/main.ts"), ...args],
    { cwd: dir, encoding: "utf8" },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("a folder stands for its one module: examples/foo is examples/foo/foo.ts", () => {
  const folder = spawnSync(
    process.execPath,
    ["--conditions=operon-source", "src/cli/main.ts", "generate", "examples/foo", "--out", "-"],
    { cwd: root, encoding: "utf8" },
  );
  assert.equal(folder.status, 0, folder.stderr);
  assert.match(folder.stdout, /kind: CustomResourceDefinition/);
  assert.match(folder.stdout, /kind: Deployment/);
});

test("a project folder stands for the operator module in its src/", () => {
  const result = operon("generate", "project", "--out", "-");
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /name: gizmos\.example\.com/);
});

test("a folder with several modules or none is a usage error that lists what to pass", () => {
  const two = operon("run", "two");
  assert.equal(two.code, 2, two.stderr);
  assert.match(
    two.stderr,
    /two is a folder with several modules \(two\/a\.ts, two\/b\.ts\); pass the one that exports your operator, e\.g\. operon run two\/a\.ts/,
  );
  const empty = operon("install", "empty");
  assert.equal(empty.code, 2, empty.stderr);
  assert.match(empty.stderr, /empty is a folder with no module in it/);
  assert.match(empty.stderr, /e\.g\. operon install empty\/operator\.ts/);
});

test("a missing module, or none, says what to pass", () => {
  const missing = operon("run", "nowhere.ts");
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /nowhere\.ts: no such file or folder; pass the module that exports your operator, e\.g\. operon run \.\/src\/operator\.ts/,
  );
  const none = operon("generate");
  assert.equal(none.code, 2);
  assert.match(none.stderr, /name the module that exports your operator.*e\.g\. operon generate/);
});

test("run and generate of a module that exports only a kind name the kind and the modules beside it", () => {
  const result = operon("run", "project/src/gizmo.ts");
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    /project\/src\/gizmo\.ts exports no operator, only the custom kind Gizmo \(gizmos\.example\.com\); pass the module that exports the operator made with defineOperator\(\.\.\.\), e\.g\. one of: project\/src\/operator\.ts/,
  );
});
