/**
 * `operon install` against a real API server: a module that exports only custom kinds installs
 * their CRDs, and a folder installs the CRDs of the module it holds.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { KubeClient } from "../client/client.ts";
import { CustomResourceDefinition } from "../resources/apiextensions.ts";
import { testControlPlane } from "../testkit/shared.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const operonIndex = fileURLToPath(new URL("../index.ts", import.meta.url));
const group = `install-${randomBytes(3).toString("hex")}.operon.example.com`;
let dir: string;
let kubeconfig: string;
let client: KubeClient;

before(async () => {
  const plane = await testControlPlane();
  kubeconfig = plane.kubeconfigPath;
  client = await KubeClient.fromKubeConfig({ kubeconfig });
  dir = await mkdtemp(join(tmpdir(), "operon-install-"));
  await writeFile(
    join(dir, "kinds.ts"),
    `import { defineResource, Type } from ${JSON.stringify(operonIndex)};
export const Sprocket = defineResource({
  group: "${group}", version: "v1", kind: "Sprocket", plural: "sprockets", scope: "Namespaced",
  spec: Type.Object({ teeth: Type.Integer() }),
});
export const Cog = defineResource({
  group: "${group}", version: "v1", kind: "Cog", plural: "cogs", scope: "Cluster",
  spec: Type.Object({ size: Type.Integer() }),
});
`,
  );
});

after(async () => {
  for (const name of [`sprockets.${group}`, `cogs.${group}`]) {
    await client?.delete(CustomResourceDefinition, name).catch(() => {});
  }
  await client?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function operon(...args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--conditions=operon-source", join(root, "src/cli/main.ts"), ...args],
      { cwd: root },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("close", (code) => resolve({ code, output }));
  });
}

test("a module that exports only custom kinds installs their CRDs", async () => {
  const result = await operon("install", join(dir, "kinds.ts"), "--kubeconfig", kubeconfig);
  assert.equal(result.code, 0, result.output);
  assert.match(
    result.output,
    new RegExp(`CustomResourceDefinition sprockets\\.${group} is established`),
  );
  assert.match(
    result.output,
    new RegExp(`CustomResourceDefinition cogs\\.${group} is established`),
  );
  const crd = await client.get(CustomResourceDefinition, `sprockets.${group}`);
  assert.equal(crd.spec.names.kind, "Sprocket");
});

test("a folder installs the CRDs of the operator module it holds", async () => {
  const result = await operon("install", "examples/foo", "--kubeconfig", kubeconfig);
  assert.equal(result.code, 0, result.output);
  assert.match(result.output, /CustomResourceDefinition foos\.tutorial\.my\.domain is established/);
});
