/**
 * Operon's memory of what it applied follows the live children: children the garbage collector
 * removes after their parent is deleted (no finalizer involved) take their entries with them, so
 * the memory of a long-running operator does not grow with every parent it has ever seen.
 */
import { after, before, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import { installCustomResources } from "../manager/install.ts";
import { ConfigMap } from "../resources/index.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import { eventually, getOrUndefined, runOperator } from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { defineOperator } from "./declaration.ts";
import { managedByLabel } from "./ownership.ts";
import { Bundle } from "./testdata/bundle.ts";

const parents = 5_000;

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

/** Runs `work` for every index with at most `limit` running at once. */
async function pool(count: number, limit: number, work: (index: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

test(`applied memory returns to the live children after ${parents} parents come and go`, {
  timeout: 15 * 60_000,
}, async (t) => {
  const namespace = await plane.createNamespace("memory");
  // kube-controller-manager's garbage collector resolves a kind installed moments ago only at its
  // next discovery (every 30 s), and backs off on every child of it it meets before then:
  // thousands of children created in that window go minutes late. A probe first, before the
  // operator runs (it would otherwise reconcile the probe).
  await garbageCollectorKnowsBundles(namespace);
  const operator = defineOperator({
    name: "memory-bound",
    parent: Bundle,
    namespace,
    children: { configMaps: ConfigMap },
    sync: ({ parent }) => ({
      children: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: parent.metadata.name! },
          data: { parent: parent.metadata.name! },
        },
      ],
    }),
  });
  const harness = await runOperator(operator, { plane });
  try {
    const memory = harness.manager.runtime(operator.name)!.memory;
    const liveChildren = async () =>
      (
        await admin.listAll(ConfigMap, {
          namespace,
          labelSelector: `${managedByLabel}=${operator.name}`,
        })
      ).items.length;

    const started = Date.now();
    await pool(parents, 32, (i) =>
      admin.create(Bundle, { metadata: { name: `p-${i}`, namespace }, spec: {} } as never),
    );
    await eventually(async () => ((await liveChildren()) === parents ? true : undefined), {
      timeoutMs: 10 * 60_000,
      intervalMs: 1_000,
      message: `${parents} children created`,
    });
    await eventually(() => (memory.size === parents ? true : undefined), {
      message: `one entry per child (${memory.size})`,
    });
    t.diagnostic(`${parents} parents converged in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // The parents go without a finalizer: the garbage collector removes their children. (One
    // request each: a deletecollection of thousands can outlast the API server's deadline.)
    await pool(parents, 32, (i) => admin.delete(Bundle, `p-${i}`, { namespace }));
    await eventually(async () => ((await liveChildren()) === 0 ? true : undefined), {
      timeoutMs: 10 * 60_000,
      intervalMs: 1_000,
      message: "the garbage collector removes the children",
    });
    await eventually(() => (memory.size === 0 ? true : undefined), {
      timeoutMs: 30_000,
      message: `the memory returns to the live children (${memory.size} entries, 0 children)`,
    });
    t.diagnostic(
      `created and deleted ${parents} parents in ${((Date.now() - started) / 1000).toFixed(1)} s; ${memory.size} entries left`,
    );
  } finally {
    await harness.stop();
  }
});

/** Returns once the garbage collector deletes a probe child of a deleted Bundle. */
async function garbageCollectorKnowsBundles(namespace: string): Promise<void> {
  const owner = await admin.create(Bundle, {
    metadata: { name: "gc-probe", namespace },
    spec: {},
  } as never);
  await admin.create(ConfigMap, {
    metadata: {
      name: "gc-probe",
      namespace,
      ownerReferences: [
        {
          apiVersion: owner.apiVersion,
          kind: owner.kind,
          name: owner.metadata.name!,
          uid: owner.metadata.uid!,
        },
      ],
    },
  });
  await admin.delete(Bundle, "gc-probe", { namespace });
  await eventually(async () => !(await getOrUndefined(admin, ConfigMap, "gc-probe", namespace)), {
    timeoutMs: 150_000,
    message: "the garbage collector deletes the probe's child",
  });
}
