/**
 * CatSet on the local control plane: Pods start one at a time, each once the previous one is
 * Ready, with no `NotConverging` and no added delay; each Pod's claim binds to a volume; a new
 * template rolls the Pods from the highest ordinal down; scaling down removes the highest Pod
 * first and keeps the claims, which also outlive the CatSet.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import {
  findCondition,
  KubeClient,
  type ObjectMeta,
  PersistentVolumeClaim,
  Pod,
  resourceType,
  Service,
} from "kube-operon";
import {
  eventually,
  installCustomResources,
  type OperatorHarness,
  runOperator,
  testControlPlane,
} from "kube-operon/testkit";
import catSetOperator, { CatSet, revisionLabel } from "./catset.ts";

/** Volumes for the claims to bind to (the control plane has no storage provisioner). */
type PersistentVolume = {
  apiVersion: "v1";
  kind: "PersistentVolume";
  metadata: ObjectMeta;
  spec: {
    capacity: { storage: string };
    accessModes: string[];
    storageClassName: string;
    persistentVolumeReclaimPolicy: "Retain" | "Delete";
    hostPath: { path: string };
  };
};
const PersistentVolume = resourceType<PersistentVolume>(
  "v1",
  "PersistentVolume",
  "persistentvolumes",
  false,
);

let client: KubeClient;
const volumes: string[] = [];
before(async () => {
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [CatSet]);
});
after(async () => {
  for (const name of volumes) await client.delete(PersistentVolume, name).catch(() => {});
  await client?.close();
});

/** A storage class name with `count` volumes of it, for one test's claims. */
async function storage(count: number): Promise<string> {
  const storageClassName = `catset-${randomBytes(3).toString("hex")}`;
  for (let index = 0; index < count; index++) {
    const name = `${storageClassName}-${index}`;
    volumes.push(name);
    await client.create(PersistentVolume, {
      metadata: { name },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        storageClassName,
        persistentVolumeReclaimPolicy: "Retain",
        hostPath: { path: `/tmp/${name}` },
      },
    });
  }
  return storageClassName;
}

function catSet(namespace: string, storageClassName: string, replicas: number) {
  return {
    metadata: { name: "web", namespace },
    spec: {
      replicas,
      template: {
        metadata: { labels: { app: "nginx" } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: "nginx",
              image: "nginx:1.27",
              volumeMounts: [{ name: "www", mountPath: "/usr/share/nginx/html" }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "www" },
          spec: {
            accessModes: ["ReadWriteOnce" as const],
            storageClassName,
            resources: { requests: { storage: "1Gi" } },
          },
        },
      ],
    },
  };
}

async function pods(namespace: string): Promise<Pod[]> {
  const list = await client.list(Pod, { namespace });
  return list.items.sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
}

async function claimNames(namespace: string): Promise<string[]> {
  const list = await client.list(PersistentVolumeClaim, { namespace });
  return list.items.map((claim) => claim.metadata.name!).sort();
}

const readySince = (pod: Pod) =>
  Date.parse(findCondition(pod.status?.conditions, "Ready")?.lastTransitionTime ?? "");
const createdAt = (pod: Pod) => Date.parse(pod.metadata.creationTimestamp!);

/** Asserts that no attempt was judged not converging or held back. */
function assertNeverSlowed(harness: OperatorHarness, key: string): void {
  const slowed = harness
    .outcomes(key)
    .filter((outcome) => outcome.churn !== undefined || outcome.phase === "held");
  assert.deepEqual(
    slowed.map((outcome) => outcome.churn?.message ?? outcome.phase),
    [],
  );
}

/** The Pods deleted by the operator, in the order of its attempts. */
function deletedPods(harness: OperatorHarness, key: string): string[] {
  return harness
    .outcomes(key)
    .flatMap((outcome) => outcome.children?.deleted ?? [])
    .filter((label) => label.startsWith("Pod "))
    .map((label) => label.slice(label.indexOf("/") + 1));
}

test("Pods start in order, each once the previous is Ready, with no NotConverging and no added delay", async (t) => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("catset");
  const replicas = 5;
  const storageClassName = await storage(replicas);
  const harness = await runOperator(catSetOperator, { plane, namespace });
  const key = `${namespace}/web`;
  try {
    const started = Date.now();
    await client.create(CatSet, catSet(namespace, storageClassName, replicas));
    await eventually(
      async () =>
        (await client.get(CatSet, "web", { namespace })).status?.readyReplicas === replicas,
      { timeoutMs: 120_000, message: `${replicas} Pods Ready` },
    );
    const elapsedMs = Date.now() - started;

    const all = await pods(namespace);
    assert.deepEqual(
      all.map((pod) => pod.metadata.name),
      Array.from({ length: replicas }, (_, ordinal) => `web-${ordinal}`),
    );
    const gaps: number[] = [];
    for (let ordinal = 1; ordinal < replicas; ordinal++) {
      const previous = all[ordinal - 1]!;
      const pod = all[ordinal]!;
      // Times are in whole seconds: created in the same second the previous became Ready, or later.
      const gapMs = createdAt(pod) - readySince(previous);
      gaps.push(gapMs);
      assert.ok(gapMs >= 0, `web-${ordinal} created before web-${ordinal - 1} was Ready`);
      assert.ok(
        gapMs <= 10_000,
        `web-${ordinal} created ${gapMs} ms after web-${ordinal - 1} was Ready`,
      );
    }
    t.diagnostic(
      `${replicas} Pods Ready in ${elapsedMs} ms; Ready to next Pod created: ${gaps.join(", ")} ms`,
    );
    assertNeverSlowed(harness, key);
    const parent = await client.get(CatSet, "web", { namespace });
    assert.equal(findCondition(parent.status?.conditions, "Synced")?.reason, "Synced");
    assert.ok(elapsedMs < 90_000, `all Ready in ${elapsedMs} ms`);

    // Each Pod has its DNS name from the headless Service, and its own bound claim.
    const service = await client.get(Service, "web", { namespace });
    assert.equal(service.spec?.clusterIP, "None");
    assert.equal(all[2]?.spec?.hostname, "web-2");
    assert.equal(all[2]?.spec?.subdomain, "web");
    const claims = (await client.list(PersistentVolumeClaim, { namespace })).items;
    assert.deepEqual(
      claims.map((claim) => `${claim.metadata.name}:${claim.status?.phase}`).sort(),
      Array.from({ length: replicas }, (_, ordinal) => `www-web-${ordinal}:Bound`),
    );
    assert.deepEqual(harness.errors(key), []);
  } finally {
    await harness.stop();
  }
});

test("a new template rolls from the highest ordinal; scale-down removes the highest first; claims stay", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("catset");
  const storageClassName = await storage(3);
  const harness = await runOperator(catSetOperator, { plane, namespace });
  const key = `${namespace}/web`;
  try {
    await client.create(CatSet, catSet(namespace, storageClassName, 3));
    await eventually(
      async () => (await client.get(CatSet, "web", { namespace })).status?.readyReplicas === 3,
      { timeoutMs: 120_000, message: "3 Pods Ready" },
    );
    const before = await pods(namespace);
    const oldRevision = (await client.get(CatSet, "web", { namespace })).status?.updateRevision;
    const claimsBefore = (await client.list(PersistentVolumeClaim, { namespace })).items;

    // A new image: each Pod is replaced, web-2 first, then web-1, then web-0.
    await client.patch(
      CatSet,
      "web",
      {
        spec: {
          template: {
            metadata: { labels: { app: "nginx" } },
            spec: {
              terminationGracePeriodSeconds: 0,
              containers: [
                {
                  name: "nginx",
                  image: "nginx:1.28",
                  volumeMounts: [{ name: "www", mountPath: "/usr/share/nginx/html" }],
                },
              ],
            },
          },
        },
      },
      { namespace },
    );
    await eventually(
      async () => {
        const status = (await client.get(CatSet, "web", { namespace })).status;
        return (
          status?.updateRevision !== oldRevision &&
          status?.updatedReplicas === 3 &&
          status.readyReplicas === 3
        );
      },
      { timeoutMs: 120_000, message: "3 updated Pods Ready" },
    );
    const rolled = await pods(namespace);
    assert.deepEqual(deletedPods(harness, key), ["web-2", "web-1", "web-0"]);
    for (const [index, pod] of rolled.entries()) {
      assert.notEqual(
        pod.metadata.uid,
        before[index]?.metadata.uid,
        `${pod.metadata.name} replaced`,
      );
      assert.equal(pod.spec?.containers?.[0]?.image, "nginx:1.28");
      assert.equal(
        pod.metadata.labels?.[revisionLabel],
        (await client.get(CatSet, "web", { namespace })).status?.updateRevision,
      );
    }
    // Replaced from the top: each new Pod is younger than the one above it.
    assert.ok(createdAt(rolled[2]!) <= createdAt(rolled[1]!));
    assert.ok(createdAt(rolled[1]!) <= createdAt(rolled[0]!));
    const claimsAfter = (await client.list(PersistentVolumeClaim, { namespace })).items;
    assert.deepEqual(
      claimsAfter.map((claim) => claim.metadata.uid).sort(),
      claimsBefore.map((claim) => claim.metadata.uid).sort(),
      "the new Pods use the same claims",
    );

    // Scale down to 1: web-2 goes, then web-1; their claims stay.
    const deletedBefore = deletedPods(harness, key).length;
    await client.patch(CatSet, "web", { spec: { replicas: 1 } }, { namespace });
    await eventually(
      async () => (await pods(namespace)).map((pod) => pod.metadata.name).join() === "web-0",
      { message: "only web-0 is left" },
    );
    assert.deepEqual(deletedPods(harness, key).slice(deletedBefore), ["web-2", "web-1"]);
    assert.deepEqual(await claimNames(namespace), ["www-web-0", "www-web-1", "www-web-2"]);
    assertNeverSlowed(harness, key);
    assert.deepEqual(harness.errors(key), []);

    // Deleted: the Pods go with the CatSet, the claims stay.
    await client.delete(CatSet, "web", { namespace });
    await eventually(async () => (await pods(namespace)).length === 0, {
      message: "the Pods are garbage-collected",
    });
    assert.deepEqual(await claimNames(namespace), ["www-web-0", "www-web-1", "www-web-2"]);
  } finally {
    await harness.stop();
  }
});
