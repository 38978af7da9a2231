/** ClusterHealth counts selected Nodes and follows their health through a related watch. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { KubeClient, Node } from "kube-operon";
import {
  eventually,
  installCustomResources,
  runOperator,
  testControlPlane,
} from "kube-operon/testkit";
import clusterHealth, { ClusterHealth } from "./cluster-health.ts";

let client: KubeClient;
before(async () => {
  const plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  await installCustomResources(client, [ClusterHealth]);
});
after(() => client?.close());

/**
 * A Node no kubelet (and no kwok) manages: the test sets its health itself. The taint keeps the
 * Pods of tests running at the same time off it (nothing would ever run them there).
 */
async function createNode(name: string, pool: string, ready: boolean) {
  await client.create(Node, {
    metadata: { name, labels: { pool } },
    spec: {
      taints: [{ key: "operon.dev/unmanaged-test-node", value: "true", effect: "NoSchedule" }],
    },
  });
  await setReady(name, ready);
}

async function setReady(name: string, ready: boolean) {
  const now = new Date().toISOString().slice(0, 19) + "Z";
  await client.patch(
    Node,
    name,
    {
      status: {
        conditions: [
          {
            type: "Ready",
            status: ready ? "True" : "False",
            reason: "Test",
            message: "set by test",
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    },
    { subresource: "status" },
  );
}

test("counts healthy and total selected nodes and follows health changes", async () => {
  const plane = await testControlPlane();
  const pool = `pool-${randomBytes(3).toString("hex")}`;
  const names = [0, 1, 2].map((i) => `${pool}-${i}`);
  const harness = await runOperator(clusterHealth, { plane });
  try {
    await createNode(names[0]!, pool, true);
    await createNode(names[1]!, pool, true);
    await createNode(names[2]!, pool, false);
    await client.create(ClusterHealth, {
      metadata: { name: pool },
      spec: { nodeSelector: { pool } },
    });
    const counts = async () => {
      const status = (await client.get(ClusterHealth, pool)).status;
      return `${status?.healthy}/${status?.total}`;
    };
    await eventually(async () => (await counts()) === "2/3", { message: "2 of 3 nodes healthy" });
    await setReady(names[2]!, true);
    await eventually(async () => (await counts()) === "3/3", {
      message: "a node turning Ready is counted",
    });
    await setReady(names[0]!, false);
    await eventually(async () => (await counts()) === "2/3", {
      message: "a node turning NotReady is counted",
    });
    await client.delete(Node, names[1]!);
    await eventually(async () => (await counts()) === "1/2", {
      message: "a deleted node is no longer counted",
    });

    // An empty selector counts every node, including the simulated ones.
    await client.create(ClusterHealth, { metadata: { name: `${pool}-all` }, spec: {} });
    const all = await eventually(
      async () => (await client.get(ClusterHealth, `${pool}-all`)).status,
    );
    assert.ok((all.total ?? 0) >= 4, `all nodes counted, got ${all.total}`);
  } finally {
    await harness.stop();
    for (const name of names) await client.delete(Node, name).catch(() => undefined);
    await client.delete(ClusterHealth, pool).catch(() => undefined);
    await client.delete(ClusterHealth, `${pool}-all`).catch(() => undefined);
  }
});
