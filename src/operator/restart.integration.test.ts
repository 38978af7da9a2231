/**
 * An operator process killed in the middle of creating children for 200 parents, then started
 * again: the end state has exactly the desired children, no duplicates and no orphans.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { KubeClient } from "../client/client.ts";
import { installCustomResources } from "../manager/install.ts";
import { ConfigMap, Secret } from "../resources/index.ts";
import type { KubeObject } from "../resources/object.ts";
import { eventually } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { managedByLabel } from "./ownership.ts";
import { Bundle } from "./testdata/bundle.ts";

const cli = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const module = fileURLToPath(new URL("./testdata/bundle-operator.ts", import.meta.url));

let client: KubeClient;
before(async () => {
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
    qps: 200,
  });
  await installCustomResources(client, [Bundle]);
});
after(() => client?.close());

function startOperator(kubeconfig: string, env: Record<string, string>): ChildProcess {
  return spawn(
    process.execPath,
    [
      "--conditions=operon-source",
      cli,
      "run",
      module,
      "--kubeconfig",
      kubeconfig,
      "--metrics-bind-address",
      "0",
      "--health-probe-bind-address",
      "0",
      "--log-format",
      "json",
      "--log-level",
      "warn",
    ],
    { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "inherit"] },
  );
}

async function children(namespace: string, operatorName: string): Promise<KubeObject[]> {
  const selector = `${managedByLabel}=${operatorName}`;
  const [configMaps, secrets] = await Promise.all([
    client.listAll(ConfigMap, { namespace, labelSelector: selector }),
    client.listAll(Secret, { namespace, labelSelector: selector }),
  ]);
  return [...configMaps.items, ...secrets.items];
}

test("a restart in the middle of creating 200 parents ends with exactly the desired children", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("restart");
  const operatorName = `bundle-${randomBytes(3).toString("hex")}`;
  const env = { BUNDLE_NAMESPACE: namespace, BUNDLE_OPERATOR_NAME: operatorName };
  const parents = 200;

  const first = startOperator(plane.kubeconfigPath, env);
  const firstExit = new Promise((resolve) => first.on("exit", resolve));
  const creating = (async () => {
    for (let i = 0; i < parents; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, parents - i) }, (_, j) =>
          client.create(Bundle, {
            metadata: { name: `p${i + j}`, namespace },
            spec: { data: { index: String(i + j) } },
          }),
        ),
      );
    }
  })();
  // Kill it (no graceful shutdown) once it has done part of the work.
  await eventually(async () => (await children(namespace, operatorName)).length >= 60, {
    timeoutMs: 120_000,
  });
  first.kill("SIGKILL");
  await firstExit;
  const atKill = (await children(namespace, operatorName)).length;
  await creating;

  const second = startOperator(plane.kubeconfigPath, env);
  try {
    await eventually(
      async () => {
        const list = await client.listAll(Bundle, { namespace });
        return list.items.length === parents &&
          list.items.every(
            (parent) =>
              parent.status?.observedGeneration === parent.metadata.generation &&
              parent.status?.keys === 1,
          )
          ? true
          : undefined;
      },
      { timeoutMs: 180_000, message: "every parent converged after the restart" },
    );
    const all = await children(namespace, operatorName);
    const parentsByUid = new Map(
      (await client.listAll(Bundle, { namespace })).items.map((p) => [p.metadata.uid, p]),
    );
    assert.equal(
      all.length,
      parents * 2,
      `exactly one ConfigMap and one Secret per parent (had ${atKill} at the kill)`,
    );
    const seen = new Set<string>();
    for (const object of all) {
      const owners = object.metadata.ownerReferences ?? [];
      assert.equal(owners.length, 1, `${object.kind} ${object.metadata.name} has one owner`);
      const owner = parentsByUid.get(owners[0]!.uid);
      assert.ok(owner, `${object.kind} ${object.metadata.name} is owned by an existing parent`);
      assert.equal(owner.metadata.name, object.metadata.name);
      const key = `${object.kind}/${object.metadata.name}`;
      assert.ok(!seen.has(key), `no duplicate ${key}`);
      seen.add(key);
    }
    assert.ok(atKill < parents * 2, "the kill happened before the work was done");
  } finally {
    second.kill("SIGTERM");
    await new Promise((resolve) => second.on("exit", resolve));
  }
});
