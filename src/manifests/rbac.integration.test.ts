/**
 * Generated RBAC against the real API server: each example operator runs as a ServiceAccount
 * bound to nothing but its generated roles and converges a parent, and that identity is refused
 * everything else (Secrets, kinds it does not own, verbs the runtime never uses, other
 * namespaces).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import catSet, { CatSet } from "../../examples/catset/catset.ts";
import clusterHealth, { ClusterHealth } from "../../examples/cluster-health/cluster-health.ts";
import echoServer, { EchoServer } from "../../examples/echo-server/echo-server.ts";
import foo, { Foo } from "../../examples/foo/foo.ts";
import memcached, { Memcached } from "../../examples/memcached/memcached.ts";
import myapp, { MyApp } from "../../examples/myapp/myapp.ts";
import { KubeClient } from "../client/client.ts";
import { installCustomResources } from "../manager/install.ts";
import { defineOperator, type Operator } from "../operator/declaration.ts";
import { Deployment } from "../resources/apps.ts";
import { isConditionTrue } from "../resources/conditions.ts";
import { Node, PersistentVolumeClaim, Pod, Service } from "../resources/core.ts";
import { Event } from "../resources/events.ts";
import { type ObjectMeta, resourceType } from "../resources/object.ts";
import type { ControlPlane } from "../testkit/control-plane.ts";
import {
  eventually,
  getOrUndefined,
  type OperatorHarness,
  runOperator,
} from "../testkit/operator-harness.ts";
import { testControlPlane } from "../testkit/shared.ts";
import { type OperatorRbac, rbacManifests } from "./rbac.ts";
import { Kubectl } from "./testdata/kubectl.ts";
import { toYaml } from "./yaml.ts";

let plane: ControlPlane;
let admin: KubeClient;
let kubectl: Kubectl;

before(async () => {
  plane = await testControlPlane();
  admin = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "test",
  });
  kubectl = await Kubectl.create(plane.kubeconfigPath);
  await installCustomResources(admin, [EchoServer, Foo, MyApp, ClusterHealth, Memcached, CatSet]);
});
after(async () => {
  await admin?.close();
  await kubectl?.dispose();
});

/**
 * Applies the generated RBAC with the admin kubeconfig and returns kubectl as the ServiceAccount,
 * once the authorizer lets it list the parents (its caches see new bindings a moment later).
 */
async function asServiceAccount(
  rbac: OperatorRbac,
  parent: { plural: string; group: string },
  namespace?: string,
): Promise<{ kubectl: Kubectl; kubeconfigPath: string }> {
  await kubectl.ok(["apply", "-f", "-"], toYaml(rbac.objects));
  const identity = await plane.kubeconfigFor({
    serviceAccount: {
      namespace: rbac.serviceAccount.metadata.namespace!,
      name: rbac.serviceAccount.metadata.name!,
    },
    create: false,
  });
  const restricted = kubectl.as(identity.path);
  await eventually(() => restricted.canI("list", `${parent.plural}.${parent.group}`, namespace), {
    message: "the generated roles take effect",
  });
  return { kubectl: restricted, kubeconfigPath: identity.path };
}

/** The operator's writes were all allowed (a conflict or a missing object can happen; 403 not). */
function assertNoForbiddenWrites(harness: OperatorHarness): void {
  const forbidden = harness.writes().filter((write) => write.code === 401 || write.code === 403);
  assert.deepEqual(forbidden, [], "no write was refused");
  assert.ok(
    harness.writes().some((write) => write.code >= 200 && write.code < 300),
    "the operator wrote",
  );
}

/** Whether the harness's own operator wrote (successfully) to a resource or subresource. */
function wrote(harness: OperatorHarness, resource: string, subresource = ""): boolean {
  return harness
    .writes()
    .some(
      (write) =>
        write.resource === resource &&
        write.subresource === subresource &&
        write.code >= 200 &&
        write.code < 300,
    );
}

/** A namespace-restricted copy of an example operator, normalised again. */
function restrictedTo(operator: Operator, namespace: string): Operator {
  return defineOperator({ ...operator, namespace });
}

describe("examples under their generated RBAC", () => {
  test("echo-server: creates, recreates and reports as its ServiceAccount; nothing else", async () => {
    const namespace = await plane.createNamespace("rbac-echo");
    const operator = restrictedTo(echoServer, namespace);
    const rbac = rbacManifests(operator, { namespace });
    assert.equal(
      rbac.clusterRole,
      undefined,
      "a namespace-restricted operator needs no ClusterRole",
    );
    const identity = await asServiceAccount(rbac, EchoServer, namespace);
    const harness = await runOperator(operator, { plane, kubeconfigPath: identity.kubeconfigPath });
    try {
      await admin.create(EchoServer, {
        metadata: { name: "hello", namespace },
        spec: { message: "hi", port: 8080 },
      });
      const pod = await eventually(() => getOrUndefined(admin, Pod, "hello", namespace));
      await eventually(() => getOrUndefined(admin, Service, "hello", namespace));
      await eventually(
        async () => {
          const parent = await admin.get(EchoServer, "hello", { namespace });
          return (
            parent.status?.podPhase === "Running" &&
            isConditionTrue(parent.status.conditions, "Synced")
          );
        },
        { message: "the status is written through /status" },
      );
      await admin.patch(EchoServer, "hello", { spec: { message: "bye" } }, { namespace });
      await eventually(
        async () => {
          const current = await getOrUndefined(admin, Pod, "hello", namespace);
          return current !== undefined && current.metadata.uid !== pod.metadata.uid;
        },
        { message: "the Pod is deleted and created again" },
      );
      await eventually(() => wrote(harness, "events"), { message: "events are recorded" });
      for (const [resource, subresource] of [["pods"], ["services"], ["echoservers", "status"]]) {
        assert.ok(wrote(harness, resource!, subresource), `wrote ${resource} ${subresource ?? ""}`);
      }
      assert.deepEqual(harness.errors(`${namespace}/hello`), []);
      assertNoForbiddenWrites(harness);
    } finally {
      await harness.stop();
    }

    const other = await plane.createNamespace("rbac-echo-other");
    const can = identity.kubectl;
    assert.equal(await can.canI("list", "secrets"), false, "Secrets anywhere");
    assert.equal(await can.canI("get", "secrets", namespace), false, "Secrets in its namespace");
    assert.equal(
      await can.canI("create", "deployments.apps", namespace),
      false,
      "not a child type",
    );
    assert.equal(await can.canI("list", "pods", other), false, "another namespace");
    assert.equal(await can.canI("list", "pods"), false, "every namespace");
    assert.equal(
      await can.canI("update", "pods", namespace),
      false,
      "children are applied, not updated",
    );
    assert.equal(await can.canI("update", "echoservers.examples.operon.dev", namespace), false);
    assert.equal(
      await can.canI("update", "echoservers.examples.operon.dev/finalizers", namespace),
      true,
    );
    assert.equal(await can.canI("delete", "echoservers.examples.operon.dev", namespace), false);
    assert.equal(await can.canI("create", "echoservers.examples.operon.dev", namespace), false);
    assert.equal(await can.canI("create", "leases.coordination.k8s.io", other), false);
    assert.equal(await can.canI("create", "events.events.k8s.io", other), false);
    assert.equal(await can.canI("create", "events.events.k8s.io", namespace), true);
    assert.equal(await can.canI("update", "leases.coordination.k8s.io", namespace), true);
  });

  test("foo: reads Pods (related) and writes only its status as its ServiceAccount", async () => {
    const namespace = await plane.createNamespace("rbac-foo");
    const operator = restrictedTo(foo, namespace);
    const rbac = rbacManifests(operator, { namespace });
    const identity = await asServiceAccount(rbac, Foo, namespace);
    const harness = await runOperator(operator, { plane, kubeconfigPath: identity.kubeconfigPath });
    try {
      await admin.create(Foo, {
        metadata: { name: "foo-sample", namespace },
        spec: { name: "jack" },
      });
      const happy = async () => (await admin.get(Foo, "foo-sample", { namespace })).status?.happy;
      await eventually(async () => (await happy()) === false, {
        message: "unhappy without the Pod",
      });
      await admin.create(Pod, {
        metadata: { name: "jack", namespace },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      });
      await eventually(happy, { message: "happy once the Pod exists" });
      assert.deepEqual(harness.errors(`${namespace}/foo-sample`), []);
      assert.ok(wrote(harness, "foos", "status"));
      assertNoForbiddenWrites(harness);
    } finally {
      await harness.stop();
    }
    const can = identity.kubectl;
    assert.equal(await can.canI("watch", "pods", namespace), true);
    assert.equal(await can.canI("create", "pods", namespace), false, "related types are read-only");
    assert.equal(await can.canI("delete", "pods", namespace), false);
    assert.equal(
      await can.canI("update", "foos.tutorial.my.domain/finalizers", namespace),
      false,
      "no children, so no ownerReferences to block deletion with",
    );
    assert.equal(await can.canI("patch", "foos.tutorial.my.domain/status", namespace), true);
    assert.equal(await can.canI("update", "foos.tutorial.my.domain/status", namespace), false);
    assert.equal(await can.canI("list", "secrets"), false);
  });

  test("myapp: Deployments and Services as its ServiceAccount; no other kinds", async () => {
    const namespace = await plane.createNamespace("rbac-myapp");
    const operator = restrictedTo(myapp, namespace);
    const rbac = rbacManifests(operator, { namespace });
    const identity = await asServiceAccount(rbac, MyApp, namespace);
    const harness = await runOperator(operator, { plane, kubeconfigPath: identity.kubeconfigPath });
    try {
      await admin.create(MyApp, {
        metadata: { name: "web", namespace },
        spec: { replicas: 2, image: "nginx:1.27", port: 8080 },
      });
      await eventually(
        async () =>
          isConditionTrue(
            (await admin.get(MyApp, "web", { namespace })).status?.conditions,
            "Ready",
          ),
        { message: "MyApp becomes Ready" },
      );
      assert.equal((await admin.get(Deployment, "web", { namespace })).spec?.replicas, 2);
      assert.equal((await admin.get(Service, "web", { namespace })).spec?.ports?.[0]?.port, 8080);
      await admin.patch(MyApp, "web", { spec: { replicas: 1 } }, { namespace });
      await eventually(
        async () => {
          const app = await admin.get(MyApp, "web", { namespace });
          return app.status?.observedGeneration === 2 && app.status.readyReplicas === 1;
        },
        { message: "MyApp scales down" },
      );
      assert.deepEqual(harness.errors(`${namespace}/web`), []);
      assert.ok(wrote(harness, "deployments") && wrote(harness, "services"));
      assert.ok(wrote(harness, "myapps", "status"));
      assertNoForbiddenWrites(harness);
    } finally {
      await harness.stop();
    }
    const can = identity.kubectl;
    assert.equal(await can.canI("create", "statefulsets.apps", namespace), false);
    assert.equal(await can.canI("update", "deployments.apps", namespace), false);
    assert.equal(await can.canI("list", "pods", namespace), false, "Pods are not its business");
    assert.equal(await can.canI("list", "secrets"), false);
    assert.equal(await can.canI("list", "myapps.apps.example.com"), false, "other namespaces");
  });

  test("memcached: its finalizer, Events and related Pods as its ServiceAccount", async () => {
    const namespace = await plane.createNamespace("rbac-memcached");
    const operator = restrictedTo(memcached, namespace);
    const rbac = rbacManifests(operator, { namespace });
    const identity = await asServiceAccount(rbac, Memcached, namespace);
    const harness = await runOperator(operator, { plane, kubeconfigPath: identity.kubeconfigPath });
    try {
      await admin.create(Memcached, { metadata: { name: "cache", namespace }, spec: { size: 2 } });
      await eventually(
        async () => {
          const status = (await admin.get(Memcached, "cache", { namespace })).status;
          return status?.nodes?.length === 2 && isConditionTrue(status.conditions, "Available");
        },
        { message: "two Pods available and named in the status" },
      );
      await admin.delete(Memcached, "cache", { namespace });
      await eventually(
        async () => (await getOrUndefined(admin, Memcached, "cache", namespace)) === undefined,
        { message: "finalized and gone" },
      );
      await eventually(
        async () =>
          (await admin.list(Event, { namespace })).items.some(
            (event) => event.reason === "Deleting",
          ),
        { message: "finalize's Event is recorded" },
      );
      assert.deepEqual(harness.errors(`${namespace}/cache`), []);
      assert.ok(wrote(harness, "memcacheds") && wrote(harness, "deployments"));
      assertNoForbiddenWrites(harness);
    } finally {
      await harness.stop();
    }
    const can = identity.kubectl;
    assert.equal(await can.canI("watch", "pods", namespace), true);
    assert.equal(await can.canI("delete", "pods", namespace), false, "related types are read-only");
    assert.equal(await can.canI("list", "secrets"), false);
  });

  test("catset: Pods, a headless Service and claims that outlive it, as its ServiceAccount", async () => {
    const namespace = await plane.createNamespace("rbac-catset");
    const operator = restrictedTo(catSet, namespace);
    const rbac = rbacManifests(operator, { namespace });
    const identity = await asServiceAccount(rbac, CatSet, namespace);
    // Volumes for the claims (the control plane has no provisioner).
    type Volume = {
      apiVersion: "v1";
      kind: "PersistentVolume";
      metadata: ObjectMeta;
      spec: object;
    };
    const PersistentVolume = resourceType<Volume>(
      "v1",
      "PersistentVolume",
      "persistentvolumes",
      false,
    );
    const storageClassName = `rbac-catset-${randomBytes(3).toString("hex")}`;
    const volumes = [0, 1].map((index) => `${storageClassName}-${index}`);
    for (const name of volumes) {
      await admin.create(PersistentVolume, {
        metadata: { name },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce"],
          storageClassName,
          hostPath: { path: `/tmp/${name}` },
        },
      });
    }
    const harness = await runOperator(operator, { plane, kubeconfigPath: identity.kubeconfigPath });
    try {
      await admin.create(CatSet, {
        metadata: { name: "web", namespace },
        spec: {
          replicas: 2,
          template: { spec: { containers: [{ name: "nginx", image: "nginx:1.27" }] } },
          volumeClaimTemplates: [
            {
              metadata: { name: "www" },
              spec: {
                accessModes: ["ReadWriteOnce"],
                storageClassName,
                resources: { requests: { storage: "1Gi" } },
              },
            },
          ],
        },
      });
      await eventually(
        async () => (await admin.get(CatSet, "web", { namespace })).status?.readyReplicas === 2,
        { message: "two Pods Ready", timeoutMs: 120_000 },
      );
      await admin.patch(CatSet, "web", { spec: { replicas: 1 } }, { namespace });
      await eventually(
        async () => (await getOrUndefined(admin, Pod, "web-1", namespace)) === undefined,
        { message: "web-1 removed" },
      );
      const claims = await admin.list(PersistentVolumeClaim, { namespace });
      assert.equal(claims.items.length, 2, "claims kept on scale-down");
      assert.deepEqual(harness.errors(`${namespace}/web`), []);
      assert.ok(wrote(harness, "pods") && wrote(harness, "services"));
      assert.ok(wrote(harness, "persistentvolumeclaims") && wrote(harness, "catsets", "status"));
      assertNoForbiddenWrites(harness);
    } finally {
      await harness.stop();
      for (const name of volumes) await admin.delete(PersistentVolume, name).catch(() => undefined);
    }
    const can = identity.kubectl;
    assert.equal(await can.canI("update", "pods", namespace), false, "children are applied");
    assert.equal(await can.canI("list", "persistentvolumes"), false);
    assert.equal(await can.canI("list", "secrets"), false);
  });

  test("cluster-health: a cluster-scoped parent under a ClusterRole; Nodes read-only", async () => {
    const suffix = randomBytes(3).toString("hex");
    const namespace = await plane.createNamespace("rbac-health");
    const name = `cluster-health-${suffix}`;
    // Cluster-wide: the ClusterRole and the Role for its events in `default` get unique names.
    const rbac = rbacManifests(clusterHealth, { namespace, name });
    assert.ok(rbac.clusterRole);
    assert.deepEqual(
      rbac.roles.map((role) => role.metadata.namespace),
      ["default", namespace].sort(),
    );
    const pool = `rbac-pool-${suffix}`;
    const node = `${pool}-0`;
    let harness: OperatorHarness | undefined;
    try {
      const identity = await asServiceAccount(rbac, ClusterHealth);
      harness = await runOperator(clusterHealth, {
        plane,
        kubeconfigPath: identity.kubeconfigPath,
      });
      // No kubelet or kwok runs this Node: keep other tests' pods off it.
      await admin.create(Node, {
        metadata: { name: node, labels: { pool } },
        spec: {
          unschedulable: true,
          taints: [{ key: "operon.dev/test", value: "rbac", effect: "NoSchedule" }],
        },
      });
      const now = `${new Date().toISOString().slice(0, 19)}Z`;
      await admin.patch(
        Node,
        node,
        {
          status: {
            conditions: [
              {
                type: "Ready",
                status: "True",
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
      await admin.create(ClusterHealth, {
        metadata: { name: pool },
        spec: { nodeSelector: { pool } },
      });
      await eventually(
        async () => {
          const status = (await admin.get(ClusterHealth, pool)).status;
          return status?.healthy === 1 && status.total === 1;
        },
        { message: "1 of 1 selected nodes healthy" },
      );
      assert.deepEqual(harness.errors(pool), []);
      // The write is counted when its response is read, which can be after the status is seen.
      await eventually(() => wrote(harness!, "clusterhealths", "status"), {
        message: "the status was written through /status",
      });
      assertNoForbiddenWrites(harness);

      const can = identity.kubectl;
      assert.equal(await can.canI("watch", "nodes"), true);
      assert.equal(await can.canI("patch", "nodes"), false, "related types are read-only");
      assert.equal(await can.canI("delete", "clusterhealths.examples.operon.dev"), false);
      assert.equal(await can.canI("create", "events.events.k8s.io", "default"), true);
      assert.equal(await can.canI("create", "events.events.k8s.io", namespace), false);
      assert.equal(await can.canI("list", "pods"), false);
      assert.equal(await can.canI("list", "secrets"), false);
    } finally {
      await harness?.stop();
      await admin.delete(ClusterHealth, pool).catch(() => undefined);
      await admin.delete(Node, node).catch(() => undefined);
      await kubectl.run(
        ["delete", "-f", "-", "--ignore-not-found", "--wait=false"],
        toYaml([rbac.clusterRole, rbac.clusterRoleBinding, ...rbac.roles, ...rbac.roleBindings]),
      );
    }
  });
});
