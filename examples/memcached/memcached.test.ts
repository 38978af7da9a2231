/** The Memcached operator's `sync` and `finalize`, with no server. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Deployment, findCondition, type Pod } from "kube-operon";
import { callFinalize, callSync } from "kube-operon/testkit";
import memcachedOperator, { labelsFor, type Memcached } from "./memcached.ts";

const now = new Date("2030-01-01T00:00:00Z");

function memcached(spec: Partial<Memcached["spec"]> = {}): Memcached {
  return {
    apiVersion: "cache.example.com/v1alpha1",
    kind: "Memcached",
    metadata: { name: "cache", namespace: "default", uid: "u-1", generation: 1 },
    spec: { size: 2, ...spec },
  };
}

function deployment(status: Deployment["status"], replicas = 2): Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "cache", namespace: "default", generation: 1 },
    spec: {
      replicas,
      selector: { matchLabels: labelsFor("cache") },
      template: { spec: { containers: [] } },
    },
    status: { observedGeneration: 1, ...status },
  };
}

function pod(name: string, waiting?: string): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: labelsFor("cache") },
    status: {
      phase: "Running",
      containerStatuses: [
        {
          name: "memcached",
          image: "memcached",
          imageID: "",
          ready: !waiting,
          restartCount: waiting ? 1 : 0,
          state: waiting ? { waiting: { reason: waiting } } : { running: {} },
        },
      ],
    },
  };
}

const conditionsOf = (
  status: { conditions?: { type: string; status: string; reason: string }[] } | undefined,
) =>
  Object.fromEntries(
    (status?.conditions ?? []).map((condition) => [
      condition.type,
      `${condition.status}/${condition.reason}`,
    ]),
  );

test("a new Memcached: a Deployment of `size` Pods, rolling out", async () => {
  const result = await callSync(memcachedOperator, {
    parent: memcached({ podAnnotations: { "prometheus.io/scrape": "true" } }),
    now,
  });
  const wanted = result.children?.[0];
  assert.equal(wanted?.kind, "Deployment");
  if (wanted?.kind !== "Deployment") return;
  assert.equal(wanted.spec?.replicas, 2);
  assert.deepEqual(wanted.spec?.selector.matchLabels, labelsFor("cache"));
  const template = wanted.spec?.template;
  assert.deepEqual(template?.metadata?.annotations, { "prometheus.io/scrape": "true" });
  assert.equal(template?.spec?.containers[0]?.image, "memcached:1.6.26-alpine3.19");
  assert.deepEqual(template?.spec?.containers[0]?.ports, [
    { name: "memcached", containerPort: 11211 },
  ]);
  assert.deepEqual(result.status?.nodes, []);
  assert.deepEqual(conditionsOf(result.status), {
    Available: "False/ReplicasUnavailable",
    Progressing: "True/RollingOut",
    Degraded: "False/AsExpected",
  });
});

test("rolled out: Available, not Progressing, the Pods' names in status.nodes", async () => {
  const result = await callSync(memcachedOperator, {
    parent: memcached(),
    children: {
      deployments: [
        deployment({ replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 }),
      ],
    },
    related: { pods: [pod("cache-b"), pod("cache-a")] },
    now,
  });
  assert.deepEqual(result.status?.nodes, ["cache-a", "cache-b"]);
  assert.deepEqual(conditionsOf(result.status), {
    Available: "True/MinimumReplicasAvailable",
    Progressing: "False/RolloutComplete",
    Degraded: "False/AsExpected",
  });
});

test("a larger size: Progressing until the new Pods are available", async () => {
  const result = await callSync(memcachedOperator, {
    parent: memcached({ size: 3 }),
    children: {
      deployments: [deployment({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 })],
    },
    now,
  });
  assert.deepEqual(conditionsOf(result.status), {
    Available: "False/ReplicasUnavailable",
    Progressing: "True/RollingOut",
    Degraded: "False/AsExpected",
  });
  const wanted = result.children?.[0];
  assert.equal(wanted?.kind === "Deployment" && wanted.spec?.replicas, 3);
});

test("Degraded: a crash-looping Pod at once, a stalled rollout once past its deadline", async () => {
  const crashing = await callSync(memcachedOperator, {
    parent: memcached(),
    children: {
      deployments: [deployment({ replicas: 3, updatedReplicas: 1, availableReplicas: 2 })],
    },
    related: { pods: [pod("cache-a"), pod("cache-b"), pod("cache-c", "CrashLoopBackOff")] },
    now,
  });
  assert.deepEqual(conditionsOf(crashing.status), {
    Available: "True/MinimumReplicasAvailable",
    Progressing: "True/RollingOut",
    Degraded: "True/PodsFailing",
  });
  assert.equal(
    findCondition(crashing.status?.conditions, "Degraded")?.message,
    "cache-c: CrashLoopBackOff",
  );

  const stalled = await callSync(memcachedOperator, {
    parent: memcached(),
    children: {
      deployments: [
        deployment({
          replicas: 3,
          updatedReplicas: 1,
          availableReplicas: 2,
          conditions: [
            {
              type: "Progressing",
              status: "False",
              reason: "ProgressDeadlineExceeded",
              message: 'ReplicaSet "cache-7d9" has timed out progressing.',
            },
          ],
        }),
      ],
    },
    now,
  });
  assert.deepEqual(conditionsOf(stalled.status), {
    Available: "True/MinimumReplicasAvailable",
    Progressing: "False/RolloutStalled",
    Degraded: "True/ProgressDeadlineExceeded",
  });
});

test("finalize records a Warning Event and reports the cleanup done", async () => {
  const result = await callFinalize(memcachedOperator, { parent: memcached(), now });
  assert.deepEqual(result, {
    finalized: true,
    events: [
      {
        type: "Warning",
        reason: "Deleting",
        message: "Custom Resource cache is being deleted from the namespace default",
      },
    ],
  });
});
