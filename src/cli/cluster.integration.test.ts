/**
 * `operon cluster` with names: a cluster per name (by default the project's), `up` reusing a
 * running one and saying so, `status` listing them all, `down` stopping only the one named. Runs
 * against a private cache folder, so it never touches a user's clusters.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { KubeClient } from "../client/client.ts";
import { Namespace } from "../resources/core.ts";
import { ensureAssets } from "../testkit/assets.ts";
import { clusterNameOf, defaultClusterName } from "./cluster.ts";

const cli = fileURLToPath(new URL("./main.ts", import.meta.url));
let cache: string;
let project: string;
let env: Record<string, string>;

before(async () => {
  cache = await mkdtemp(join(tmpdir(), "operon-clusters-"));
  project = join(cache, "project", "src");
  await mkdir(project, { recursive: true });
  await writeFile(join(cache, "project", "package.json"), '{ "name": "@acme/Sprocket.Operator" }');
  const assets = await ensureAssets({ only: ["etcd", "kube-apiserver"] });
  env = {
    ...(process.env as Record<string, string>),
    OPERON_CACHE_DIR: cache,
    OPERON_ASSETS: dirname(assets.etcd),
  };
});

after(async () => {
  // Whatever a failed test left running.
  for (const name of ["alpha", "acme-sprocket-operator"]) {
    await operon(["cluster", "down", "--name", name]).catch(() => {});
  }
  await rm(cache, { recursive: true, force: true });
});

function operon(
  args: string[],
  cwd = project,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=operon-source", cli, ...args], {
      cwd,
      env,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("the default name is the nearest package.json's name, made a DNS label", async () => {
  assert.equal(clusterNameOf("@acme/Sprocket.Operator"), "acme-sprocket-operator");
  assert.equal(clusterNameOf("my_operator"), "my-operator");
  assert.equal(clusterNameOf("@@@"), undefined);
  assert.equal(await defaultClusterName(project), "acme-sprocket-operator");
  assert.equal(await defaultClusterName("/"), "default");
});

test("named clusters: up, reuse, status, kubeconfig, down", { timeout: 10 * 60_000 }, async () => {
  const up = await operon(["cluster", "up", "--name", "alpha", "--nodes", "0"]);
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr, /starting the local cluster "alpha"/);
  const kubeconfig = up.stdout.trim().split("\n").at(-1)!;
  assert.equal(kubeconfig, join(cache, "clusters", "alpha", "kubeconfig"));

  const again = await operon(["cluster", "up", "--name", "alpha", "--nodes", "0"]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(
    again.stderr,
    /reusing the running cluster "alpha" \(pid \d+\) at https:\/\/127\.0\.0\.1:\d+; `operon cluster down --name alpha` stops it/,
  );
  assert.equal(again.stdout.trim(), kubeconfig);

  const client = await KubeClient.fromKubeConfig({ kubeconfig });
  try {
    const namespaces = await client.list(Namespace);
    assert.ok(namespaces.items.some((namespace) => namespace.metadata.name === "default"));
  } finally {
    await client.close();
  }

  // In the project, the project's cluster is the default: not running, but alpha is listed.
  const status = await operon(["cluster", "status"]);
  assert.equal(status.code, 1, status.stderr);
  assert.match(
    status.stdout,
    /cluster "acme-sprocket-operator": not running \(start it with `operon cluster up`\)/,
  );
  assert.match(status.stdout, /^ {2}alpha +running +https:\/\/127\.0\.0\.1:\d+$/m);
  const alpha = await operon(["cluster", "status", "--name", "alpha", "-o", "json"]);
  assert.equal(alpha.code, 0, alpha.stderr);
  const json = JSON.parse(alpha.stdout);
  assert.equal(json.running, true);
  assert.equal(json.kubeconfigPath, kubeconfig);
  assert.deepEqual(
    json.clusters.map((c: { name: string; state: string }) => [c.name, c.state]),
    [["alpha", "running"]],
  );

  const missing = await operon(["cluster", "kubeconfig"]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /the cluster "acme-sprocket-operator" is not running \(running: alpha; choose one with --name\); start it with `operon cluster up`/,
  );
  const path = await operon(["cluster", "kubeconfig", "--name", "alpha"]);
  assert.equal(path.stdout.trim(), kubeconfig);

  // Stopping the project's (absent) cluster leaves alpha alone.
  const downDefault = await operon(["cluster", "down"]);
  assert.equal(downDefault.code, 0);
  assert.match(
    downDefault.stderr,
    /the cluster "acme-sprocket-operator" is not running \(running: alpha/,
  );
  assert.equal((await operon(["cluster", "status", "--name", "alpha"])).code, 0);

  const down = await operon(["cluster", "down", "--name", "alpha"]);
  assert.equal(down.code, 0, down.stderr);
  assert.match(down.stderr, /the cluster "alpha" is stopped/);
  assert.equal((await operon(["cluster", "status", "--name", "alpha"])).code, 1);
});

test("a bad name is a usage error", async () => {
  const result = await operon(["cluster", "up", "--name", "My Cluster"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--name "My Cluster" must be lowercase letters, digits and '-'/);
});
