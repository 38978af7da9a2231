/**
 * Errors every cluster command can meet, without a cluster: each names what was passed (or
 * found) and says what to do.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "operon-errors-"));
  await writeFile(
    join(dir, "unreachable"),
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{ name: c, cluster: { server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true } }]",
      "users: [{ name: u, user: { token: t } }]",
      "contexts: [{ name: x, context: { cluster: c, user: u } }]",
      "current-context: x",
    ].join("\n"),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

function operon(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(
    process.execPath,
    ["--conditions=operon-source", "src/cli/main.ts", ...args],
    { cwd: root, encoding: "utf8", env: { ...process.env, ...env } },
  );
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("no kubeconfig: says where it looked and how to name or start a cluster", () => {
  const result = operon(["install", "examples/foo"], { HOME: dir, KUBECONFIG: "" });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /no Kubernetes configuration found: KUBECONFIG is not set/);
  assert.match(result.stderr, /Name the cluster with --kubeconfig <file>/);
  assert.match(result.stderr, /export KUBECONFIG=\$\(operon cluster up \| tail -1\)/);
  const missing = operon(["install", "examples/foo", "--kubeconfig", join(dir, "nope")]);
  assert.match(missing.stderr, /kubeconfig .*nope does not exist/);
  assert.match(missing.stderr, /Name the cluster with --kubeconfig/);
});

test("a cluster nobody answers at: names the server and asks whether it runs", () => {
  const result = operon(["install", "examples/foo", "--kubeconfig", join(dir, "unreachable")]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cannot reach https:\/\/127\.0\.0\.1:1/);
  assert.match(
    result.stderr,
    /Is the cluster running\? Check the server of the kubeconfig's context/,
  );
});

test("an unknown command names it and lists the commands", () => {
  const result = operon(["instal", "x.ts"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /unknown command "instal x\.ts"/);
  assert.match(result.stderr, /install +Install the CustomResourceDefinitions/);
});

test("a group's --help lists its commands; an unknown one in it is named", () => {
  const help = operon(["metacontroller", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /metacontroller run +Run every CompositeController/);
  assert.doesNotMatch(help.stdout, /cluster up/);
  const unknown = operon(["cluster", "upp"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "cluster upp"/);
  assert.match(unknown.stderr, /cluster up +Start a local control plane/);
});
