import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigMap, KubeClient } from "kube-operon";
import {
  eventually,
  installCustomResources,
  runOperator,
  testControlPlane,
} from "kube-operon/testkit";
import greeter, { Greeting } from "./greeting.ts";

test("the greeter writes the ConfigMap and the status on a real API server", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace();
  const client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [Greeting]);
  // Limited to the test's namespace: other tests' Greetings are not this one's business.
  const harness = await runOperator(greeter, { plane, namespace });
  try {
    await client.create(Greeting, {
      metadata: { name: "world", namespace },
      spec: { name: "World", excited: false },
    });
    const configMap = await eventually(() =>
      client.get(ConfigMap, "world-greeting", { namespace }),
    );
    assert.equal(configMap.data?.message, "Hello, World.");
    await eventually(
      async () =>
        (await client.get(Greeting, "world", { namespace })).status?.message === "Hello, World.",
    );
  } finally {
    await harness.stop();
    await client.close();
  }
});
