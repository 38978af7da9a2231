/** The Kubebuilder tutorial's Foo: happy exactly while a Pod with the named name exists. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { KubeClient, Pod } from "kube-operon";
import {
  eventually,
  installCustomResources,
  runOperator,
  testControlPlane,
} from "kube-operon/testkit";
import foo, { Foo } from "./foo.ts";

let client: KubeClient;
before(async () => {
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [Foo]);
});
after(() => client?.close());

const happy = (namespace: string, name: string) => async () =>
  (await client.get(Foo, name, { namespace })).status?.happy;

test("Foo follows Pod creation, deletion and changes to spec.name", async () => {
  const plane = await testControlPlane();
  const namespace = await plane.createNamespace("foo");
  const harness = await runOperator(foo, { plane });
  try {
    await client.create(Foo, {
      metadata: { name: "foo-sample", namespace },
      spec: { name: "jack" },
    });
    await eventually(async () =>
      (await happy(namespace, "foo-sample")()) === false ? true : undefined,
    );

    const pod = {
      metadata: { name: "jack", namespace },
      spec: { containers: [{ name: "c", image: "nginx" }] },
    };
    await client.create(Pod, pod);
    await eventually(happy(namespace, "foo-sample"), { message: "happy once the Pod exists" });

    await client.delete(Pod, "jack", { namespace, gracePeriodSeconds: 0 });
    await eventually(
      async () => ((await happy(namespace, "foo-sample")()) === false ? true : undefined),
      {
        message: "unhappy once the Pod is gone",
      },
    );

    await client.create(Pod, { ...pod, metadata: { name: "jill", namespace } });
    await client.patch(Foo, "foo-sample", { spec: { name: "jill" } }, { namespace });
    await eventually(happy(namespace, "foo-sample"), {
      message: "happy after spec.name names an existing Pod",
    });
    assert.deepEqual(harness.errors(`${namespace}/foo-sample`), []);
  } finally {
    await harness.stop();
  }
});
