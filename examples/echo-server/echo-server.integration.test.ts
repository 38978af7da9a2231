/** Roperator's EchoServer: a Pod (recreate) and a Service (apply) per parent. */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KubeClient, Pod, Service } from "kube-operon";
import {
  eventually,
  getOrUndefined,
  installCustomResources,
  runOperator,
  testControlPlane,
} from "kube-operon/testkit";
import echoServer, { EchoServer } from "./echo-server.ts";

let admin: KubeClient;
let plane: Awaited<ReturnType<typeof testControlPlane>>;
before(async () => {
  plane = await testControlPlane();
  admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(admin, [EchoServer]);
});
after(() => admin?.close());

function condition(object: { status?: unknown } | undefined, type: string) {
  return (
    object?.status as { conditions?: { type: string; status: string }[] } | undefined
  )?.conditions?.find((c) => c.type === type);
}

describe("echo-server example", () => {
  test("creates the Pod and Service, reports the Pod's phase, recreates the Pod on change", async () => {
    const namespace = await plane.createNamespace("echo");
    const harness = await runOperator(echoServer, { plane });
    try {
      await admin.create(EchoServer, {
        metadata: { name: "hello", namespace },
        spec: { message: "hi", port: 8080 },
      });
      const pod = await eventually(() => getOrUndefined(admin, Pod, "hello", namespace));
      const service = await eventually(() => getOrUndefined(admin, Service, "hello", namespace));
      for (const object of [pod, service]) {
        const owner = object.metadata.ownerReferences?.[0];
        assert.equal(owner?.kind, "EchoServer");
        assert.equal(owner?.controller, true);
        assert.equal(owner?.blockOwnerDeletion, true);
        assert.equal(object.metadata.labels?.["app.kubernetes.io/managed-by"], "echo-server");
      }
      assert.deepEqual(pod.spec?.containers?.[0]?.args, ["-text=hi", "-listen=:5678"]);
      assert.equal(service.spec?.ports?.[0]?.port, 8080);
      const parent = await eventually(async () => {
        const current = await admin.get(EchoServer, "hello", { namespace });
        return current.status?.podPhase === "Running" ? current : undefined;
      });
      assert.equal(parent.status?.observedGeneration, parent.metadata.generation);
      assert.equal(condition(parent, "Synced")?.status, "True");

      // A new message: the Pod is deleted and created again (a Pod's containers are immutable).
      await admin.patch(EchoServer, "hello", { spec: { message: "bye" } }, { namespace });
      const recreated = await eventually(async () => {
        const current = await getOrUndefined(admin, Pod, "hello", namespace);
        return current && current.metadata.uid !== pod.metadata.uid ? current : undefined;
      });
      assert.deepEqual(recreated.spec?.containers?.[0]?.args, ["-text=bye", "-listen=:5678"]);
      const serviceAfter = await admin.get(Service, "hello", { namespace });
      assert.equal(
        serviceAfter.metadata.resourceVersion,
        service.metadata.resourceVersion,
        "the unchanged Service was not written",
      );
      assert.deepEqual(harness.errors(`${namespace}/hello`), []);
    } finally {
      await harness.stop();
    }
  });
});
