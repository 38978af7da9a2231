/**
 * The client when the control plane misbehaves on purpose: expired watch history (410 Gone) and
 * an API server restart under a live connection pool. Uses its own control plane.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { type ControlPlane, startControlPlane } from "../testkit/index.ts";
import { KubeClient } from "./client.ts";
import { ConnectionError, GoneError } from "./errors.ts";

const ConfigMap: ResourceType<KubeObject & { data?: Record<string, string> }> = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
};

let plane: ControlPlane;
let client: KubeClient;

before(async () => {
  plane = await startControlPlane({ nodes: 0, controllerManager: false });
  client = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
});
after(async () => {
  await client?.destroy();
  await plane?.stop();
});

test("a watch from an expired resourceVersion surfaces a typed GoneError; the pool survives the restart", async () => {
  const namespace = await plane.createNamespace();
  const first = await client.create(ConfigMap, { metadata: { name: "a", namespace } });
  for (let i = 0; i < 3; i++)
    await client.patch(ConfigMap, "a", { data: { i: String(i) } }, { namespace });

  // A watch running while the server restarts ends with a connection error, not silence.
  const running = await client.watch(ConfigMap, { namespace });
  const runningResult = (async () => {
    for await (const _ of running) {
      // initial events
    }
  })().then(
    () => "ended",
    (err: unknown) => err,
  );

  await plane.expireWatches(); // compacts etcd and restarts the API server

  const outcome = await runningResult;
  assert.ok(outcome === "ended" || outcome instanceof ConnectionError, String(outcome));

  // Reads go through the same pool, whose old sockets died with the server: they are retried.
  const again = await client.get(ConfigMap, "a", { namespace });
  assert.equal(again.metadata.uid, first.metadata.uid);

  await assert.rejects(
    (async () => {
      const watch = await client.watch(ConfigMap, {
        namespace,
        resourceVersion: first.metadata.resourceVersion!,
      });
      for await (const _ of watch) {
        // the server answers with an ERROR event carrying a 410 Status
      }
    })(),
    (err: unknown) => {
      assert.ok(err instanceof GoneError, String(err));
      assert.equal(err.code, 410);
      assert.equal(err.status?.code, 410);
      assert.match(err.message, /^watch configmaps in namespace "test-[0-9a-f]+": (expired|gone)/);
      return true;
    },
  );
});
