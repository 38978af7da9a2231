import assert from "node:assert/strict";
import { test } from "node:test";
import { Job, KubeClient, Pod } from "kube-operon";
import { eventually, simulatePod, testControlPlane } from "kube-operon/testkit";

test("a Pod that never becomes Ready, and a Job that fails", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace();
  const client = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
  try {
    await client.create(Pod, {
      metadata: { name: "stuck", namespace, annotations: simulatePod("running") },
      spec: { containers: [{ name: "app", image: "app:1" }] },
    });
    await client.create(Job, {
      metadata: { name: "migrate", namespace },
      spec: {
        backoffLimit: 0,
        template: {
          // On the pod template: every Pod of the Job fails, 2 seconds after it starts.
          metadata: { annotations: simulatePod("fail", { after: "2s" }) },
          spec: { restartPolicy: "Never", containers: [{ name: "migrate", image: "app:1" }] },
        },
      },
    });
    await eventually(async () => {
      const job = await client.get(Job, "migrate", { namespace });
      return job.status?.conditions?.some((c) => c.type === "Failed" && c.status === "True");
    });
    const stuck = await client.get(Pod, "stuck", { namespace });
    assert.equal(stuck.status?.phase, "Running");
    assert.equal(stuck.status?.conditions?.find((c) => c.type === "Ready")?.status, "False");
  } finally {
    await client.close();
  }
});
