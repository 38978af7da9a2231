/** MyApp reaches Ready on the local control plane's simulated nodes. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Deployment, isConditionTrue, KubeClient, Service } from "kube-operon";
import {
  eventually,
  installCustomResources,
  runOperator,
  testControlPlane,
} from "kube-operon/testkit";
import myapp, { MyApp } from "./myapp.ts";

let client: KubeClient;
before(async () => {
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [MyApp]);
});
after(() => client?.close());

test("MyApp creates a Deployment and a Service and becomes Ready; scaling follows", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("myapp");
  const harness = await runOperator(myapp, { plane });
  try {
    await client.create(MyApp, {
      metadata: { name: "web", namespace },
      spec: { replicas: 3, image: "nginx:1.27", port: 8080 },
    });
    const ready = await eventually(
      async () => {
        const app = await client.get(MyApp, "web", { namespace });
        return isConditionTrue(app.status?.conditions, "Ready") ? app : undefined;
      },
      { message: "MyApp becomes Ready" },
    );
    assert.equal(ready.status?.readyReplicas, 3);
    const deployment = await client.get(Deployment, "web", { namespace });
    assert.equal(deployment.spec?.replicas, 3);
    assert.equal(deployment.spec?.template?.spec?.containers?.[0]?.image, "nginx:1.27");
    const service = await client.get(Service, "web", { namespace });
    assert.equal(service.spec?.ports?.[0]?.port, 8080);

    await client.patch(MyApp, "web", { spec: { replicas: 1 } }, { namespace });
    await eventually(
      async () => {
        const app = await client.get(MyApp, "web", { namespace });
        return (
          app.status?.observedGeneration === 2 &&
          app.status.readyReplicas === 1 &&
          isConditionTrue(app.status.conditions, "Ready")
        );
      },
      { message: "MyApp scales down to 1 ready replica" },
    );
  } finally {
    await harness.stop();
  }
});
