import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigMap, KubeClient } from "kube-operon";
import { eventually, installCustomResources, testControlPlane } from "kube-operon/testkit";
import { Greeting } from "./greeting.ts";
import { pendingChanges } from "./plan.ts";
import { childChanges, failures, tracedManager } from "./trace.ts";

test("plan finds a Greeting waiting for the greeter; the trace shows what the greeter did", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("greeting-trace");
  const client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [Greeting]);
  try {
    await client.create(Greeting, {
      metadata: { name: "world", namespace },
      spec: { name: "World", excited: false },
    });
    // No operator yet: the plan says the Greeting would change, and nothing is written.
    assert.ok((await pendingChanges(plane.kubeconfigPath)).includes(`${namespace}/world`));
    await assert.rejects(client.get(ConfigMap, "world-greeting", { namespace }), /not found/);

    const manager = tracedManager({ kubeconfig: plane.kubeconfigPath, bindAddress: "127.0.0.1:0" });
    await manager.start();
    try {
      await eventually(() => client.get(ConfigMap, "world-greeting", { namespace }));
      await client.patch(Greeting, "world", { spec: { excited: true } }, { namespace });
      await eventually(() =>
        childChanges(manager, `${namespace}/world`).some((line) =>
          line.endsWith(
            `ConfigMap ${namespace}/world-greeting data.message: "Hello, World." → "Hello, World!"`,
          ),
        ),
      );
      assert.deepEqual(
        failures(manager).filter((line) => line.startsWith(`${namespace}/`)),
        [],
      );
      assert.match(manager.traceUrl ?? "", /^http:\/\/127\.0\.0\.1:\d+$/);
    } finally {
      await manager.stop();
    }
    assert.ok(!(await pendingChanges(plane.kubeconfigPath)).includes(`${namespace}/world`));
  } finally {
    await client.close();
  }
});
