/**
 * Per-child-type policies and test controls against the real control plane: a Job child's Pods
 * go with it when it is recreated or pruned (Background by default, Foreground and Orphan on
 * request); children kept on purpose outlive their parent and are taken over by the next parent
 * of the same name; a custom finalizer name; `runOperator` limited to a namespace; `now`.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import { installCustomResources } from "../manager/install.ts";
import { ConfigMap, Job, PersistentVolumeClaim, Pod } from "../resources/index.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually, getOrUndefined, runOperator } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { child, defineOperator, type PropagationPolicy } from "./declaration.ts";
import { parentUidLabel } from "./ownership.ts";
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

function suffix(): string {
  return randomBytes(3).toString("hex");
}

async function createBundle(namespace: string, name: string, spec: Record<string, unknown>) {
  return admin.create(Bundle, { metadata: { name, namespace }, spec } as never);
}

async function setMode(namespace: string, name: string, mode: string) {
  await admin.patch(Bundle, name, { spec: { mode } }, { namespace });
}

/** The Pods a Job made, found by the label the Job controller puts on them. */
async function podsOf(namespace: string, jobUid: string) {
  return (
    await admin.list(Pod, {
      namespace,
      labelSelector: `batch.kubernetes.io/controller-uid=${jobUid}`,
    })
  ).items;
}

/** A Bundle gets a Job named after it, running the image `spec.mode`; mode `none`: no Job. */
function jobOperator(propagationPolicy?: PropagationPolicy) {
  return defineOperator({
    name: `jobs-${suffix()}`,
    parent: Bundle,
    children: {
      jobs: child(Job, {
        strategy: "recreate",
        ...(propagationPolicy ? { propagationPolicy } : {}),
      }),
    },
    sync: ({ parent }) => ({
      children:
        parent.spec.mode === "none"
          ? []
          : [
              {
                apiVersion: "batch/v1",
                kind: "Job",
                metadata: { name: parent.metadata.name! },
                spec: {
                  backoffLimit: 0,
                  template: {
                    spec: {
                      restartPolicy: "Never",
                      containers: [{ name: "work", image: `example.com/${parent.spec.mode}` }],
                    },
                  },
                },
              },
            ],
    }),
  });
}

/** Waits for the Job `name` to exist with a Pod, other than `previousUid`; returns its UID. */
async function jobWithPods(namespace: string, name: string, previousUid?: string) {
  const job = await eventually(async () => {
    const current = await getOrUndefined(admin, Job, name, namespace);
    return current && current.metadata.uid !== previousUid ? current : undefined;
  });
  await eventually(async () => (await podsOf(namespace, job.metadata.uid!)).length > 0, {
    message: `the Job ${name} made a Pod`,
  });
  return job.metadata.uid!;
}

describe("deleting children", () => {
  test("a recreated or pruned Job takes its Pods with it (Background, the default)", async () => {
    const namespace = await plane.createNamespace("job-children");
    const harness = await runOperator(jobOperator(), { plane, namespace });
    try {
      await createBundle(namespace, "batch", { mode: "one" });
      const first = await jobWithPods(namespace, "batch");
      await setMode(namespace, "batch", "two"); // a Job's template is immutable: recreated
      const second = await jobWithPods(namespace, "batch", first);
      await eventually(async () => (await podsOf(namespace, first)).length === 0, {
        message: "the recreated Job's Pods are deleted",
      });
      await setMode(namespace, "batch", "none"); // no longer returned: pruned
      await eventually(async () => !(await getOrUndefined(admin, Job, "batch", namespace)));
      await eventually(async () => (await podsOf(namespace, second)).length === 0, {
        message: "the pruned Job's Pods are deleted",
      });
    } finally {
      await harness.stop();
    }
  });

  test("Foreground deletes the Pods before the Job, so the new Job starts after them", async () => {
    const namespace = await plane.createNamespace("job-foreground");
    const harness = await runOperator(jobOperator("Foreground"), { plane, namespace });
    try {
      await createBundle(namespace, "batch", { mode: "one" });
      const first = await jobWithPods(namespace, "batch");
      await setMode(namespace, "batch", "two");
      await eventually(async () => {
        const current = await getOrUndefined(admin, Job, "batch", namespace);
        return current && current.metadata.uid !== first ? current : undefined;
      });
      // The old Job was gone before the new one was created, and it went after its Pods.
      assert.equal((await podsOf(namespace, first)).length, 0);
    } finally {
      await harness.stop();
    }
  });

  test("Orphan leaves a pruned Job's Pods in place", async () => {
    const namespace = await plane.createNamespace("job-orphan");
    const harness = await runOperator(jobOperator("Orphan"), { plane, namespace });
    try {
      await createBundle(namespace, "batch", { mode: "one" });
      const first = await jobWithPods(namespace, "batch");
      await setMode(namespace, "batch", "none");
      await eventually(async () => !(await getOrUndefined(admin, Job, "batch", namespace)));
      const orphans = await eventually(async () => {
        const pods = await podsOf(namespace, first);
        return pods.length > 0 && pods.every((pod) => !pod.metadata.ownerReferences?.length)
          ? pods
          : undefined;
      });
      assert.ok(orphans.length > 0);
    } finally {
      await harness.stop();
    }
  });
});

describe("children that outlive the parent", () => {
  test("kept children stay when the parent goes, and the next parent of that name takes them over", async () => {
    const namespace = await plane.createNamespace("retain");
    const operator = defineOperator({
      name: `retain-${suffix()}`,
      parent: Bundle,
      children: {
        claims: child(PersistentVolumeClaim, { whenParentDeleted: "Retain" }),
        configMaps: ConfigMap,
      },
      sync: ({ parent }) => ({
        children: [
          {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            metadata: { name: `${parent.metadata.name}-data` },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          },
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: parent.metadata.name! } },
        ],
      }),
    });
    const harness = await runOperator(operator, { plane, namespace });
    try {
      const parent = await createBundle(namespace, "db", {});
      const claim = await eventually(() =>
        getOrUndefined(admin, PersistentVolumeClaim, "db-data", namespace),
      );
      await eventually(() => getOrUndefined(admin, ConfigMap, "db", namespace));
      assert.equal(claim.metadata.ownerReferences, undefined, "nothing cascades to a kept child");
      assert.equal(claim.metadata.labels?.[parentUidLabel], parent.metadata.uid);
      // No finalizer is needed for kept children.
      assert.deepEqual(
        (await admin.get(Bundle, "db", { namespace })).metadata.finalizers,
        undefined,
      );

      await admin.delete(Bundle, "db", { namespace });
      await eventually(async () => !(await getOrUndefined(admin, ConfigMap, "db", namespace)), {
        message: "the ConfigMap is garbage collected with its parent",
      });
      const kept = await admin.get(PersistentVolumeClaim, "db-data", { namespace });
      assert.equal(kept.metadata.uid, claim.metadata.uid);
      assert.equal(kept.metadata.deletionTimestamp, undefined);

      const next = await createBundle(namespace, "db", {});
      const adopted = await eventually(async () => {
        const current = await admin.get(PersistentVolumeClaim, "db-data", { namespace });
        return current.metadata.labels?.[parentUidLabel] === next.metadata.uid
          ? current
          : undefined;
      });
      assert.equal(adopted.metadata.uid, claim.metadata.uid, "the same claim, taken over");
      const synced = await eventually(async () => {
        const current = await admin.get(Bundle, "db", { namespace });
        const condition = current.status?.conditions?.find((c) => c.type === syncedCondition);
        return current.status?.observedGeneration === 1 && condition ? condition : undefined;
      });
      assert.equal(synced.reason, "Synced");
    } finally {
      await harness.stop();
    }
  });
});

describe("finalizer name, namespace and time", () => {
  test("a custom finalizer name is put on parents and removed after finalize", async () => {
    const namespace = await plane.createNamespace("finalizer-name");
    let finalized = 0;
    const operator = defineOperator({
      name: `named-finalizer-${suffix()}`,
      parent: Bundle,
      finalizer: "cache.example.com/finalizer",
      sync: (_request) => ({ status: { note: "up" } }),
      finalize: () => {
        finalized++;
        return { finalized: true };
      },
    });
    const harness = await runOperator(operator, { plane, namespace });
    try {
      await createBundle(namespace, "c", {});
      await eventually(async () =>
        (await admin.get(Bundle, "c", { namespace })).metadata.finalizers?.includes(
          "cache.example.com/finalizer",
        ),
      );
      await admin.delete(Bundle, "c", { namespace });
      await eventually(async () => !(await getOrUndefined(admin, Bundle, "c", namespace)));
      assert.equal(finalized, 1);
    } finally {
      await harness.stop();
    }
  });

  test("runOperator with a namespace leaves other namespaces' parents alone", async () => {
    const mine = await plane.createNamespace("scoped");
    const other = await plane.createNamespace("unscoped");
    const operator = defineOperator({
      name: `scoped-${suffix()}`,
      parent: Bundle,
      sync: (_request) => ({ status: { note: "seen" } }),
    });
    const harness = await runOperator(operator, { plane, namespace: mine });
    try {
      await createBundle(other, "b", {});
      await createBundle(mine, "b", {});
      await eventually(
        async () => (await admin.get(Bundle, "b", { namespace: mine })).status?.note === "seen",
      );
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal((await admin.get(Bundle, "b", { namespace: other })).status, undefined);
      assert.deepEqual(harness.outcomes(`${other}/b`), []);
    } finally {
      await harness.stop();
    }
    await assert.rejects(
      runOperator({ ...operator, namespace: other }, { plane, namespace: mine }),
      /declares namespace/,
    );
  });

  test("sync reads the time runOperator gives it", async () => {
    const namespace = await plane.createNamespace("clock");
    let now = new Date("2030-01-01T00:00:00Z");
    const operator = defineOperator({
      name: `clock-${suffix()}`,
      parent: Bundle,
      sync: ({ now }) => ({ status: { note: now.toISOString() } }),
    });
    const harness = await runOperator(operator, { plane, namespace, now: () => now });
    try {
      await createBundle(namespace, "t", {});
      await eventually(
        async () =>
          (await admin.get(Bundle, "t", { namespace })).status?.note === "2030-01-01T00:00:00.000Z",
      );
      now = new Date("2030-06-01T12:00:00Z");
      harness.enqueue(`${namespace}/t`);
      const parent = await eventually(async () => {
        const current = await admin.get(Bundle, "t", { namespace });
        return current.status?.note === "2030-06-01T12:00:00.000Z" ? current : undefined;
      });
      // Operon's own condition uses the same clock.
      const synced = parent.status?.conditions?.find((c) => c.type === syncedCondition);
      assert.equal(synced?.lastTransitionTime, "2030-01-01T00:00:00Z");
    } finally {
      await harness.stop();
    }
  });
});
