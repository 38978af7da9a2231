/**
 * `operon plan` against a converged cluster: with the same operator it reports no change (exit
 * 0); with a changed version it reports the children it would create and update with the
 * server's field diffs (exit 2); and the API server's own request counters show that it only
 * read and made dry-run writes. A private control plane without kube-controller-manager keeps
 * those counters to this test's requests alone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request as httpsRequest } from "node:https";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import myapp, { MyApp } from "../../examples/myapp/myapp.ts";
import { KubeClient } from "../client/client.ts";
import { installCustomResources } from "../manager/install.ts";
import { Deployment } from "../resources/apps.ts";
import { Service } from "../resources/core.ts";
import { type ControlPlane, startControlPlane } from "../testkit/control-plane.ts";
import { eventually, runOperator } from "../testkit/operator-harness.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const writeVerbs = new Set(["POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"]);
const watched = new Set(["myapps", "deployments", "services", "events"]);

let plane: ControlPlane;
let client: KubeClient;
before(async () => {
  plane = await startControlPlane({ nodes: 0, controllerManager: false, scheduler: false });
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [MyApp]);
});
after(async () => {
  await client?.close();
  await plane?.stop();
});

function operon(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["bin/operon.js", ...args], { cwd: root });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The API server's `/metrics` text, read with the admin kubeconfig's certificate. */
function metricsText(): Promise<string> {
  const { users } = parseYaml(plane.kubeconfig) as { users: { user: Record<string, string> }[] };
  const decode = (value: string | undefined) => Buffer.from(value ?? "", "base64").toString("utf8");
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      new URL("/metrics", plane.server),
      {
        ca: plane.caCertificatePem,
        cert: decode(users[0]!.user["client-certificate-data"]),
        key: decode(users[0]!.user["client-key-data"]),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end();
  });
}

/** `apiserver_request_total` by verb, resource/subresource and dry_run. */
async function requestCounts(): Promise<Map<string, number>> {
  const text = await metricsText();
  const counts = new Map<string, number>();
  for (const line of String(text).split("\n")) {
    const match = /^apiserver_request_total\{(.*)\} (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    if (!watched.has(labels.resource ?? "")) continue;
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ""} dry_run=${labels.dry_run ?? ""}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(match[2]));
  }
  return counts;
}

function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, value] of after) {
    const change = value - (before.get(key) ?? 0);
    if (change > 0) out.set(key, change);
  }
  return out;
}

test("plan reports a changed operator's diffs, exits 2, and writes nothing", async () => {
  const namespace = await plane.createNamespace("plan");
  const kube = ["--kubeconfig", plane.kubeconfigPath];
  const harness = await runOperator(myapp, { plane, namespace });
  try {
    for (const [name, replicas] of [
      ["shop", 3],
      ["blog", 2],
    ] as const) {
      await client.create(MyApp, {
        metadata: { name, namespace },
        spec: { replicas, image: "nginx:1.27", port: 8080 },
      });
    }
    await eventually(async () => {
      const { items } = await client.list(MyApp, { namespace });
      return items.length === 2 && items.every((app) => app.status?.observedGeneration === 1);
    });
  } finally {
    await harness.stop();
  }

  // The same operator: nothing to do.
  const same = await operon(["plan", "examples/myapp/myapp.ts", "-n", namespace, ...kube]);
  assert.equal(same.code, 0, same.stdout + same.stderr);
  assert.match(same.stdout, new RegExp(`MyApp ${namespace}/shop \\(operator myapp\\): no changes`));
  assert.match(same.stdout, /0 of 2 parents would change\./);

  // A changed version: two Services to create, the Deployments and Services to update.
  const before = await requestCounts();
  const changed = await operon([
    "plan",
    "examples/myapp/testdata/myapp-v2.ts",
    "-n",
    namespace,
    ...kube,
  ]);
  const after = await requestCounts();
  assert.equal(changed.code, 2, changed.stdout + changed.stderr);
  const out = changed.stdout;
  for (const expected of [
    `MyApp ${namespace}/shop (operator myapp):`,
    `  ~ update Deployment ${namespace}/shop`,
    `      ~ spec.template.spec.containers[0].image: "nginx:1.27" → "nginx:next"`,
    `      + spec.template.spec.containers[0].resources.limits.memory: "256Mi"`,
    `  ~ update Service ${namespace}/shop`,
    `      + metadata.annotations["example.com/exposed"]: "true"`,
    `  + create Service ${namespace}/shop-metrics`,
    "      + spec.ports[0].port: 9090",
    "Plan: 2 to create, 4 to update, 0 to recreate, 0 to delete, 0 status changes; 2 of 2 parents would change.",
  ]) {
    assert.ok(out.includes(expected), `missing ${JSON.stringify(expected)} in:\n${out}`);
  }
  assert.doesNotMatch(out, /desired-hash|resourceVersion|managedFields/);

  // The API server saw reads and dry runs only.
  const requests = delta(before, after);
  const real = [...requests].filter(
    ([key]) => writeVerbs.has(key.split(" ")[0]!) && key.endsWith("dry_run="),
  );
  assert.deepEqual(real, [], `writes that were not dry runs: ${JSON.stringify([...requests])}`);
  assert.ok(
    (requests.get("APPLY deployments dry_run=All") ?? 0) >= 2,
    JSON.stringify([...requests]),
  );
  assert.ok((requests.get("POST services dry_run=All") ?? 0) >= 2, JSON.stringify([...requests]));
  assert.ok([...requests.keys()].some((key) => key.startsWith("LIST myapps")));
  const deployment = await client.get(Deployment, "shop", { namespace });
  assert.equal(deployment.spec?.template?.spec?.containers?.[0]?.image, "nginx:1.27");
  await assert.rejects(client.get(Service, "shop-metrics", { namespace }), /not found/);

  // One parent by name, as JSON.
  const one = await operon([
    "plan",
    "examples/myapp/testdata/myapp-v2.ts",
    "shop",
    "-n",
    namespace,
    "-o",
    "json",
    ...kube,
  ]);
  assert.equal(one.code, 2, one.stderr);
  const parsed = JSON.parse(one.stdout) as {
    parents: { key: string; changes: boolean; children: { child: string; action: string }[] }[];
  };
  assert.deepEqual(
    parsed.parents.map((p) => [p.key, p.changes]),
    [[`${namespace}/shop`, true]],
  );
  assert.ok(
    parsed.parents[0]!.children.some(
      (c) => c.child === `Service ${namespace}/shop-metrics` && c.action === "created",
    ),
  );
});

test("plan exits 1 when sync fails, and says why", async () => {
  const namespace = await plane.createNamespace("plan-error");
  await client.create(MyApp, {
    metadata: { name: `x${"y".repeat(69)}`, namespace },
    spec: { replicas: 1, image: "nginx:1.27", port: 8080 },
  });
  const result = await operon([
    "plan",
    "examples/myapp/myapp.ts",
    "-n",
    namespace,
    "--kubeconfig",
    plane.kubeconfigPath,
  ]);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  assert.match(result.stdout, /: error: .*Service/);
});
