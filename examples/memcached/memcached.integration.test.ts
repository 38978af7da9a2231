/**
 * The Operator SDK tutorial's Memcached on the local control plane: the Deployment follows
 * `size` (and an edit of its replicas is reverted), the Pods' names reach `status.nodes`, a
 * rollout whose Pods crash-loop on the simulated nodes is reported `Degraded`, and deleting a
 * Memcached runs its finalizer, which records an Event.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Deployment, Event, findCondition, KubeClient, Pod } from "kube-operon";
import {
  eventually,
  getOrUndefined,
  installCustomResources,
  runOperator,
  simulatePod,
  testControlPlane,
} from "kube-operon/testkit";
import memcachedOperator, { labelsFor, Memcached } from "./memcached.ts";

let client: KubeClient;
before(async () => {
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [Memcached]);
});
after(() => client?.close());

/** The Memcached's own conditions (not Operon's `Synced`) as `type: status/reason`. */
async function conditions(namespace: string): Promise<Record<string, string>> {
  const memcached = await client.get(Memcached, "cache", { namespace });
  return Object.fromEntries(
    (memcached.status?.conditions ?? [])
      .filter((c) => c.type !== "Synced")
      .map((c) => [c.type, `${c.status}/${c.reason}`]),
  );
}

async function podNames(namespace: string): Promise<string[]> {
  const selector = Object.entries(labelsFor("cache"))
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  const pods = await client.list(Pod, { namespace, labelSelector: selector });
  return pods.items.map((pod) => pod.metadata.name!).sort();
}

test("Memcached: size, status.nodes, Available/Progressing/Degraded, and the finalizer's Event", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("memcached");
  const harness = await runOperator(memcachedOperator, { plane, namespace });
  const key = `${namespace}/cache`;
  try {
    await client.create(Memcached, {
      metadata: { name: "cache", namespace },
      spec: { size: 2 },
    });
    const ready = {
      Available: "True/MinimumReplicasAvailable",
      Progressing: "False/RolloutComplete",
      Degraded: "False/AsExpected",
    };
    await eventually(
      async () => JSON.stringify(await conditions(namespace)) === JSON.stringify(ready),
      {
        message: "2 Pods available, rollout complete",
      },
    );
    const created = await client.get(Memcached, "cache", { namespace });
    const deployment = await client.get(Deployment, "cache", { namespace });
    assert.deepEqual(created.metadata.finalizers, ["cache.example.com/finalizer"]);
    assert.deepEqual(created.status?.nodes, await podNames(namespace));
    assert.equal(created.status?.nodes?.length, 2);

    // The tutorial's size check: the Deployment is brought back to `size` when edited.
    await client.patch(Deployment, "cache", { spec: { replicas: 1 } }, { namespace });
    await eventually(
      async () => {
        const deployment = await client.get(Deployment, "cache", { namespace });
        return deployment.metadata.generation! > 2 && deployment.spec?.replicas === 2;
      },
      { message: "the edited replicas are reverted" },
    );

    await client.patch(Memcached, "cache", { spec: { size: 3 } }, { namespace });
    await eventually(
      async () => {
        const memcached = await client.get(Memcached, "cache", { namespace });
        return (
          memcached.status?.nodes?.length === 3 &&
          findCondition(memcached.status.conditions, "Progressing")?.reason === "RolloutComplete"
        );
      },
      { message: "3 Pods in status.nodes" },
    );
    assert.deepEqual(
      (await client.get(Memcached, "cache", { namespace })).status?.nodes,
      await podNames(namespace),
    );

    // A rollout whose new Pods crash: Degraded, while the old Pods keep it Available.
    await client.patch(
      Memcached,
      "cache",
      { spec: { podAnnotations: simulatePod("fail") } },
      { namespace },
    );
    const degraded = await eventually(
      async () => {
        const memcached = await client.get(Memcached, "cache", { namespace });
        const condition = findCondition(memcached.status?.conditions, "Degraded");
        return condition?.status === "True" ? condition : undefined;
      },
      { message: "Degraded once a new Pod crash-loops" },
    );
    assert.equal(degraded.reason, "PodsFailing");
    assert.match(degraded.message, /^cache-[a-z0-9]+-[a-z0-9]+: CrashLoopBackOff$/);
    const during = await conditions(namespace);
    assert.equal(during.Available, "True/MinimumReplicasAvailable");
    assert.equal(during.Progressing, "True/RollingOut");

    // Fixed: the next rollout completes and Degraded clears.
    await client.patch(Memcached, "cache", [{ op: "remove", path: "/spec/podAnnotations" }], {
      namespace,
    });
    await eventually(
      async () => JSON.stringify(await conditions(namespace)) === JSON.stringify(ready),
      {
        message: "the fixed rollout completes",
      },
    );
    assert.deepEqual(harness.errors(key), []);
    assert.ok(harness.outcomes(key).every((outcome) => outcome.churn === undefined));

    // Deleted: finalize records its Event, then the finalizer goes and so does the Memcached.
    await client.delete(Memcached, "cache", { namespace });
    await eventually(
      async () => (await getOrUndefined(client, Memcached, "cache", namespace)) === undefined,
      {
        message: "the Memcached is gone",
      },
    );
    const event = await eventually(async () =>
      (await client.list(Event, { namespace })).items.find((item) => item.reason === "Deleting"),
    );
    assert.equal(event.type, "Warning");
    assert.equal(
      event.note,
      `Custom Resource cache is being deleted from the namespace ${namespace}`,
    );
    assert.equal(event.regarding?.kind, "Memcached");
    // The Deployment goes by garbage collection, which starts watching a kind installed moments
    // ago only at its next resync (about 40 s here): its owner reference is checked instead.
    assert.equal(deployment.metadata.ownerReferences?.[0]?.kind, "Memcached");
  } finally {
    await harness.stop();
  }
});
