import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";
import { UsageError } from "./command.ts";
import { generateTarget } from "./generate.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("./main.ts", import.meta.url));

function operon(...args: string[]) {
  const result = spawnSync(process.execPath, ["--conditions=operon-source", cli, ...args], {
    cwd: root,
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "operon-generate-"));
});
after(() => rm(dir, { recursive: true, force: true }));

test("--out and --output choose a folder or stdout", () => {
  assert.deepEqual(generateTarget({}), { folder: "deploy" });
  assert.deepEqual(generateTarget({ out: "config" }), { folder: "config" });
  assert.deepEqual(generateTarget({ out: "-" }), { stdout: "yaml" });
  assert.deepEqual(generateTarget({ output: "json" }), { stdout: "json" });
  assert.deepEqual(generateTarget({ output: "yaml", out: "-" }), { stdout: "yaml" });
  assert.throws(() => generateTarget({ output: "xml" }), UsageError);
  assert.throws(() => generateTarget({ output: "json", out: "deploy" }), UsageError);
  assert.throws(() => generateTarget({ out: "" }), UsageError);
});

test("operon generate writes the folder with the options given", async () => {
  const out = join(dir, "deploy");
  const result = operon(
    "generate",
    "examples/myapp/myapp.ts",
    "--out",
    out,
    "--namespace",
    "web",
    "--image",
    "ghcr.io/me/myapp:1.2.3",
    "--replicas",
    "1",
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /wrote .*kustomization\.yaml/);
  assert.match(result.stdout, /kubectl apply -k /);
  assert.deepEqual((await readdir(out)).sort(), [
    "Dockerfile",
    "Dockerfile.dockerignore",
    "crds",
    "kustomization.yaml",
    "manager.yaml",
    "namespace.yaml",
    "rbac.yaml",
    "webhooks.yaml",
  ]);
  // The module exports a validating and a mutating webhook: they are served and registered.
  const webhooks = parseAllDocuments(await readFile(join(out, "webhooks.yaml"), "utf8")).map((d) =>
    d.toJS(),
  );
  assert.deepEqual(
    webhooks.map((object) => `${object.kind}/${object.metadata.name}`),
    [
      "Service/myapp-webhook",
      "Secret/myapp-webhook-certs",
      "ValidatingWebhookConfiguration/myapp",
      "MutatingWebhookConfiguration/myapp",
    ],
  );
  const manager = parseAllDocuments(await readFile(join(out, "manager.yaml"), "utf8")).map((d) =>
    d.toJS(),
  );
  const deployment = manager.find((object) => object.kind === "Deployment");
  assert.equal(deployment.metadata.namespace, "web");
  assert.equal(deployment.spec.replicas, 1);
  assert.equal(deployment.spec.template.spec.containers[0].image, "ghcr.io/me/myapp:1.2.3");
  const dockerfile = await readFile(join(out, "Dockerfile"), "utf8");
  assert.match(dockerfile, /"run","examples\/myapp\/myapp\.ts"\]$/m);
  assert.equal(parse(await readFile(join(out, "namespace.yaml"), "utf8")).metadata.name, "web");
});

test("--output json prints a v1 List and --out - a YAML stream; nothing is written", () => {
  const json = operon("generate", "examples/foo/foo.ts", "--output", "json");
  assert.equal(json.code, 0, json.stderr);
  const list = JSON.parse(json.stdout);
  assert.equal(list.kind, "List");
  assert.deepEqual(
    list.items.map((item: { kind: string }) => item.kind),
    [
      "Namespace",
      "CustomResourceDefinition",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "Role",
      "RoleBinding",
      "ClusterRole",
      "ClusterRoleBinding",
      "ClusterRole",
      "Service",
      "Deployment",
    ],
  );
  const yaml = operon("generate", "examples/foo/foo.ts", "--out", "-");
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.deepEqual(
    parseAllDocuments(yaml.stdout).map((document) => document.toJS()),
    list.items,
  );
});

test("a module with a conversion, cert-manager certificates and insecure metrics", () => {
  const result = operon(
    "generate",
    "examples/cronjob/cronjob.ts",
    "--output",
    "json",
    "--certificates",
    "cert-manager",
    "--insecure-metrics",
  );
  assert.equal(result.code, 0, result.stderr);
  const items = JSON.parse(result.stdout).items as {
    kind: string;
    metadata: { name: string; annotations?: Record<string, string> };
    spec?: { conversion?: { strategy: string } };
  }[];
  const crd = items.find((item) => item.kind === "CustomResourceDefinition");
  assert.equal(crd?.spec?.conversion?.strategy, "Webhook");
  assert.equal(
    crd?.metadata.annotations?.["cert-manager.io/inject-ca-from"],
    "cronjob-system/cronjob-serving-cert",
  );
  assert.ok(items.some((item) => item.kind === "Certificate"));
  assert.ok(!items.some((item) => item.metadata.name.endsWith("-metrics-reader")));
  const bad = operon("generate", "examples/cronjob/cronjob.ts", "--certificates", "vault");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--certificates must be operon or cert-manager/);
});

test("mistakes in the call exit 2 with the usage; failures exit 1 and say what to do", async () => {
  const noModule = operon("generate");
  assert.equal(noModule.code, 2);
  assert.match(noModule.stderr, /name the module/);
  assert.match(noModule.stderr, /Usage: operon generate <module>/);

  const badReplicas = operon("generate", "examples/foo/foo.ts", "--replicas", "two");
  assert.equal(badReplicas.code, 2);
  assert.match(badReplicas.stderr, /--replicas must be a whole number/);

  const both = operon("generate", "examples/foo/foo.ts", "--output", "json", "--out", "x");
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--output json prints to stdout/);

  const unknown = operon("generate", "examples/foo/foo.ts", "--replica", "2");
  assert.equal(unknown.code, 2);

  const missing = operon("generate", "examples/nothing.ts");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /examples\/nothing\.ts: no such file/);

  const empty = join(dir, "empty.ts");
  await writeFile(empty, "export const answer = 42;\n");
  const noOperator = operon("generate", empty);
  assert.equal(noOperator.code, 1);
  assert.match(noOperator.stderr, /exports no operator/);

  const badName = operon("generate", "examples/foo/foo.ts", "--namespace", "Web", "--out", "-");
  assert.equal(badName.code, 2);
  assert.match(badName.stderr, /--namespace "Web" must be a DNS-1123 label/);

  const help = operon("generate", "--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--output <value>/);
  assert.match(help.stdout, /kubectl apply -k deploy/);
});
