/**
 * The churn detector on the real control plane: ordered, multi-step work (a chain of
 * ConfigMaps, each created once the previous one exists; Pods started one at a time, each once
 * the previous one is Ready on a simulated node) converges with no added delay, while a `sync`
 * that writes a timestamp into a child is still caught and slowed down.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import { installCustomResources } from "../manager/install.ts";
import { isConditionTrue } from "../resources/conditions.ts";
import { ConfigMap, Pod } from "../resources/index.ts";
import type { KubeObject } from "../resources/object.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually, type OperatorHarness, runOperator } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { child, defineOperator } from "./declaration.ts";
import { managedByLabel } from "./ownership.ts";
import { syncedCondition } from "./status.ts";
import { Bundle } from "./testdata/bundle.ts";

let plane: ControlPlane;
let admin: KubeClient;

before(async () => {
  plane = await testControlPlane();
  admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test-admin",
  });
  await installCustomResources(admin, [Bundle]);
});

after(async () => {
  await admin?.close();
});

const steps = 12;

function suffix(): string {
  return randomBytes(3).toString("hex");
}

function syncedOf(object: KubeObject | undefined) {
  const conditions = (object?.status as { conditions?: { type: string; reason: string }[] })
    ?.conditions;
  return conditions?.find((condition) => condition.type === syncedCondition);
}

/** Asserts that no attempt for `key` was judged not converging or held back. */
function assertNeverSlowed(harness: OperatorHarness, key: string): void {
  const slowed = harness
    .outcomes(key)
    .filter((outcome) => outcome.churn !== undefined || outcome.phase === "held");
  assert.deepEqual(
    slowed.map((outcome) => outcome.churn?.message ?? outcome.phase),
    [],
    "ordered progress is never taken for churn",
  );
}

describe("ordered, multi-step convergence", () => {
  test("a chain of 12 ConfigMaps, each created once the previous exists, converges at once", async () => {
    const namespace = await plane.createNamespace("chain");
    const operator = defineOperator({
      name: `chain-${suffix()}`,
      parent: Bundle,
      children: { configMaps: ConfigMap },
      sync: ({ parent, children }) => {
        // One more link per sync, after every earlier link exists.
        let existing = 0;
        while (children.configMaps.has(`${parent.metadata.name}-${existing}`)) existing++;
        const length = Math.min(existing + 1, steps);
        return {
          status: { keys: existing },
          children: Array.from({ length }, (_, index) => ({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `${parent.metadata.name}-${index}` },
            data: { link: String(index), previous: String(index - 1) },
          })),
        };
      },
    });
    const harness = await runOperator(operator, { plane, namespace });
    try {
      const started = Date.now();
      await createBundle(namespace, "c");
      await eventually(
        async () => (await admin.get(Bundle, "c", { namespace })).status?.keys === steps,
        { timeoutMs: 60_000, message: `all ${steps} links exist` },
      );
      const elapsedMs = Date.now() - started;
      const links = await admin.list(ConfigMap, {
        namespace,
        labelSelector: `${managedByLabel}=${operator.name}`,
      });
      assert.equal(links.items.length, steps);
      assertNeverSlowed(harness, `${namespace}/c`);
      assert.equal(syncedOf(await admin.get(Bundle, "c", { namespace }))?.reason, "Synced");
      // Slowed down after four rounds, it would wait 1 + 2 + 4 + ... + 128 s.
      assert.ok(elapsedMs < 30_000, `converged in ${elapsedMs} ms`);
    } finally {
      await harness.stop();
    }
  });

  test("12 Pods started in order, each once the previous is Ready, converge at once", async () => {
    const namespace = await plane.createNamespace("ordered");
    const operator = defineOperator({
      name: `ordered-${suffix()}`,
      parent: Bundle,
      children: { pods: child(Pod, { strategy: "recreate" }) },
      // Bursts of changes coalesce (a Pod's creation, binding and readiness): every sync then
      // sees the previous Pod Ready and creates the next, a write on every round.
      debounceMs: 250,
      sync: ({ parent, children }) => {
        const name = parent.metadata.name!;
        let ready = 0;
        while (
          isConditionTrue(children.pods.get(`${name}-${ready}`)?.status?.conditions, "Ready")
        ) {
          ready++;
        }
        const wanted = Math.min(ready + 1, steps);
        return {
          status: { keys: ready },
          children: Array.from({ length: wanted }, (_, index) => ({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: `${name}-${index}`, labels: { set: name } },
            spec: {
              containers: [{ name: "main", image: "example.com/server:1" }],
              terminationGracePeriodSeconds: 0,
            },
          })),
        };
      },
    });
    const harness = await runOperator(operator, { plane, namespace });
    try {
      const started = Date.now();
      await createBundle(namespace, "set");
      await eventually(
        async () => (await admin.get(Bundle, "set", { namespace })).status?.keys === steps,
        { timeoutMs: 120_000, message: `all ${steps} Pods are Ready` },
      );
      const elapsedMs = Date.now() - started;
      assertNeverSlowed(harness, `${namespace}/set`);
      assert.ok(elapsedMs < 90_000, `converged in ${elapsedMs} ms`);
    } finally {
      await harness.stop();
    }
  });
});

describe("churn", () => {
  test("a timestamp written into a child on every sync is caught and slowed down", async () => {
    const namespace = await plane.createNamespace("timestamp");
    const operator = defineOperator({
      name: `timestamp-${suffix()}`,
      parent: Bundle,
      children: { configMaps: ConfigMap },
      sync: ({ parent, now }) => ({
        children: [
          {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: parent.metadata.name! },
            data: { renderedAt: now.toISOString() },
          },
        ],
      }),
    });
    const harness = await runOperator(operator, { plane, namespace });
    try {
      await createBundle(namespace, "t");
      const found = await eventually(async () => {
        const synced = syncedOf(await admin.get(Bundle, "t", { namespace }));
        return synced?.reason === "NotConverging" ? synced : undefined;
      });
      assert.match(
        (found as { message?: string }).message ?? "",
        /different result on every call although nothing it reads changed/,
      );
      // Slowed down: over the next 3 s far fewer syncs happen than a hot loop would run.
      const syncs = () =>
        harness.outcomes(`${namespace}/t`).filter((outcome) => outcome.phase === "sync").length;
      const before = syncs();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      assert.ok(syncs() - before <= 3, `${syncs() - before} syncs in 3 s`);
    } finally {
      await harness.stop();
    }
  });
});

async function createBundle(namespace: string, name: string) {
  return admin.create(Bundle, { metadata: { name, namespace }, spec: {} } as never);
}
