import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import clusterHealth from "../../examples/cluster-health/cluster-health.ts";
import echoServer from "../../examples/echo-server/echo-server.ts";
import foo from "../../examples/foo/foo.ts";
import myapp from "../../examples/myapp/myapp.ts";
import { defineOperator, type Operator } from "../operator/declaration.ts";
import type { Deployment } from "../resources/apps.ts";
import { ConfigMap, Namespace, Pod, Secret } from "../resources/core.ts";
import { ClusterRole } from "../resources/rbac.ts";
import { RbacGenerationError, rbacManifests, rbacRules } from "./rbac.ts";
import { toYaml } from "./yaml.ts";

const all = ["create", "delete", "get", "list", "patch", "watch"];
const read = ["get", "list", "watch"];
const leases = {
  apiGroups: ["coordination.k8s.io"],
  resources: ["leases"],
  verbs: ["create", "get", "update"],
};
const events = { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] };

function parentRules(group: string, plural: string, options: { owners: boolean }) {
  return [
    { apiGroups: [group], resources: [plural], verbs: ["get", "list", "patch", "watch"] },
    ...(options.owners
      ? [{ apiGroups: [group], resources: [`${plural}/finalizers`], verbs: ["update"] }]
      : []),
    { apiGroups: [group], resources: [`${plural}/status`], verbs: ["patch"] },
  ];
}

const sync = () => ({});

test("echo-server: its parent, Pods and Services as children, events; the Lease in its namespace", () => {
  assert.deepEqual(rbacRules(echoServer, { namespace: "echo-system" }), {
    cluster: [
      { apiGroups: [""], resources: ["pods", "services"], verbs: all },
      events,
      ...parentRules("examples.operon.dev", "echoservers", { owners: true }),
    ],
    namespaces: { "echo-system": [leases] },
  });
});

test("foo: Pods are related, so read-only; no children, so no finalizers subresource", () => {
  assert.deepEqual(rbacRules(foo, { namespace: "foo-system" }), {
    cluster: [
      { apiGroups: [""], resources: ["pods"], verbs: read },
      events,
      ...parentRules("tutorial.my.domain", "foos", { owners: false }),
    ],
    namespaces: { "foo-system": [leases] },
  });
});

test("myapp: Deployments and Services as children", () => {
  assert.deepEqual(rbacRules(myapp, { namespace: "myapp-system" }), {
    cluster: [
      { apiGroups: [""], resources: ["services"], verbs: all },
      { apiGroups: ["apps"], resources: ["deployments"], verbs: all },
      ...parentRules("apps.example.com", "myapps", { owners: true }),
      events,
    ],
    namespaces: { "myapp-system": [leases] },
  });
});

test("cluster-health: a cluster-scoped parent; Nodes related; its events go to default", () => {
  assert.deepEqual(rbacRules(clusterHealth, { namespace: "health" }), {
    cluster: [
      { apiGroups: [""], resources: ["nodes"], verbs: read },
      ...parentRules("examples.operon.dev", "clusterhealths", { owners: false }),
    ],
    namespaces: { default: [events], health: [leases] },
  });
});

test("an operator restricted to a namespace gets a Role there and no ClusterRole", () => {
  const restricted = defineOperator({ ...echoServer, namespace: "apps" });
  assert.deepEqual(rbacRules(restricted, { namespace: "apps" }), {
    cluster: [],
    namespaces: {
      apps: [
        { apiGroups: [""], resources: ["pods", "services"], verbs: all },
        leases,
        events,
        ...parentRules("examples.operon.dev", "echoservers", { owners: true }),
      ],
    },
  });
  const elsewhere = rbacRules(restricted, { namespace: "operators" });
  assert.deepEqual(Object.keys(elsewhere.namespaces), ["apps", "operators"]);
  assert.deepEqual(elsewhere.namespaces.operators, [leases]);
  const manifests = rbacManifests(restricted, { namespace: "operators" });
  assert.equal(manifests.clusterRole, undefined);
  assert.equal(manifests.clusterRoleBinding, undefined);
  assert.deepEqual(
    manifests.roleBindings.map((binding) => [binding.metadata.namespace, binding.subjects]),
    [
      ["apps", [{ kind: "ServiceAccount", name: "echo-server", namespace: "operators" }]],
      ["operators", [{ kind: "ServiceAccount", name: "echo-server", namespace: "operators" }]],
    ],
  );
});

test("cluster-scoped types stay cluster-wide even for a restricted operator", () => {
  const restricted = defineOperator({ ...clusterHealth, namespace: "apps" });
  const rules = rbacRules(restricted, { namespace: "apps" });
  assert.deepEqual(rules.cluster, [
    { apiGroups: [""], resources: ["nodes"], verbs: read },
    ...parentRules("examples.operon.dev", "clusterhealths", { owners: false }),
  ]);
  assert.deepEqual(rules.namespaces, { apps: [leases], default: [events] });
});

test("without leader election there is no Lease rule", () => {
  assert.deepEqual(rbacRules(foo, { namespace: "x", leaderElection: false }).namespaces, {});
});

test("children tracked by labels (cluster-scoped under a namespaced parent) need no finalizers subresource", () => {
  const operator = defineOperator({
    name: "namespacer",
    parent: ConfigMap,
    children: { namespaces: Namespace },
    sync,
  });
  const rules = rbacRules(operator, { namespace: "x", leaderElection: false });
  assert.deepEqual(rules.cluster, [
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "patch", "watch"] },
    { apiGroups: [""], resources: ["configmaps/status"], verbs: ["patch"] },
    { apiGroups: [""], resources: ["namespaces"], verbs: all },
    events,
  ]);
});

test("a type both child and related gets the union; a namespaced related type gets a Role unless covered", () => {
  const operator = defineOperator({
    name: "mixed",
    parent: ConfigMap,
    children: { pods: Pod },
    related: {
      pods: { type: Pod },
      systemSecrets: { type: Secret, namespace: "kube-system" },
      systemPods: { type: Pod, namespace: "kube-system" },
    },
    sync,
  });
  const rules = rbacRules(operator, { namespace: "x", leaderElection: false });
  assert.deepEqual(rules.cluster[0], {
    apiGroups: [""],
    resources: ["configmaps"],
    verbs: ["get", "list", "patch", "watch"],
  });
  assert.deepEqual(
    rules.cluster.find((rule) => rule.resources?.includes("pods")),
    { apiGroups: [""], resources: ["pods"], verbs: all },
  );
  assert.equal(
    rules.cluster.some((rule) => rule.resources?.includes("secrets")),
    false,
    "Secrets only where declared",
  );
  assert.deepEqual(rules.namespaces, {
    "kube-system": [{ apiGroups: [""], resources: ["secrets"], verbs: read }],
  });
});

test("several operators merge per group and resource, whatever their order", () => {
  const forward = rbacRules([echoServer, foo, myapp, clusterHealth], { namespace: "ops" });
  const backward = rbacRules([clusterHealth, myapp, foo, echoServer], { namespace: "ops" });
  assert.deepEqual(forward, backward);
  const core = forward.cluster.filter((rule) => rule.apiGroups?.[0] === "");
  assert.deepEqual(core, [
    { apiGroups: [""], resources: ["nodes"], verbs: read },
    { apiGroups: [""], resources: ["pods", "services"], verbs: all },
  ]);
  assert.deepEqual(forward.namespaces, { ops: [leases] }, "default's events are cluster-wide now");
  const keys = forward.cluster.flatMap((rule) =>
    (rule.resources ?? []).map((resource) => `${rule.apiGroups?.[0]}/${resource}`),
  );
  assert.equal(new Set(keys).size, keys.length, "each group and resource in one rule");
});

test("extra rules merge in; rules naming objects or URLs are kept as given", () => {
  const rules = rbacRules(foo, {
    namespace: "x",
    leaderElection: false,
    extraRules: [
      { apiGroups: [""], resources: ["pods"], verbs: ["delete"] },
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["token"] },
      { nonResourceURLs: ["/version"], verbs: ["get"] },
    ],
  });
  assert.deepEqual(rules.cluster[0], {
    apiGroups: [""],
    resources: ["pods"],
    verbs: ["delete", "get", "list", "watch"],
  });
  assert.deepEqual(rules.cluster.slice(-2), [
    { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["token"] },
    { nonResourceURLs: ["/version"], verbs: ["get"] },
  ]);
  const restricted = rbacRules(defineOperator({ ...foo, namespace: "apps" }), {
    namespace: "x",
    leaderElection: false,
    extraRules: [
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
      { nonResourceURLs: ["/version"], verbs: ["get"] },
    ],
  });
  assert.deepEqual(restricted.cluster, [{ nonResourceURLs: ["/version"], verbs: ["get"] }]);
  assert.deepEqual(restricted.namespaces.apps?.[0], {
    apiGroups: [""],
    resources: ["pods"],
    verbs: read,
  });
  assert.ok(
    restricted.namespaces.apps?.some(
      (rule) => rule.resources?.[0] === "secrets" && rule.verbs.join() === "get",
    ),
  );
});

test("an operator's own extra rules are granted where it works", () => {
  const reader = defineOperator({
    name: "reader",
    parent: ConfigMap,
    sync,
    extraRules: [
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
      { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["token"] },
    ],
  });
  const everywhere = rbacRules(reader, { namespace: "x", leaderElection: false });
  assert.ok(
    everywhere.cluster.some(
      (rule) =>
        rule.resources?.join() === "secrets" && rule.verbs.join() === "get" && !rule.resourceNames,
    ),
  );
  assert.ok(everywhere.cluster.some((rule) => rule.resourceNames?.join() === "token"));
  const scoped = rbacRules(defineOperator({ ...reader, namespace: "apps" }), {
    namespace: "x",
    leaderElection: false,
  });
  assert.ok(!scoped.cluster.some((rule) => rule.resources?.includes("secrets")));
  assert.ok(scoped.namespaces.apps?.some((rule) => rule.resources?.join() === "secrets"));
  assert.ok(scoped.namespaces.apps?.some((rule) => rule.resourceNames?.join() === "token"));
});

test("a type without a plural or a scope is refused, naming the operator and the type", () => {
  const bare = { apiVersion: "example.com/v1", kind: "Thing" } as typeof Deployment;
  const withChild = defineOperator({
    name: "things",
    parent: ConfigMap,
    children: { things: bare },
    sync,
  });
  assert.throws(
    () => rbacRules(withChild, { namespace: "x" }),
    (error: unknown) =>
      error instanceof RbacGenerationError &&
      /operator "things": child "things" example\.com\/v1 Thing has no plural/.test(
        error.message,
      ) &&
      /resourceType\(apiVersion, kind, plural, namespaced\)/.test(error.message),
  );
  const unscoped = {
    apiVersion: "example.com/v1",
    kind: "Thing",
    plural: "things",
  } as typeof Deployment;
  const withRelated = defineOperator({
    name: "watcher",
    parent: ConfigMap,
    related: { things: { type: unscoped } },
    sync,
  });
  assert.throws(
    () => rbacRules(withRelated, { namespace: "x" }),
    /operator "watcher": related "things" example\.com\/v1 Thing does not say whether it is namespaced/,
  );
  assert.throws(() => rbacRules([], { namespace: "x" }), RbacGenerationError);
});

test("the manifests: a ServiceAccount, ClusterRole and binding, Roles and bindings, labelled", () => {
  const rbac = rbacManifests(clusterHealth, {
    namespace: "health",
    name: "health-operator",
    serviceAccountName: "runner",
    labels: { team: "infra" },
  });
  assert.deepEqual(
    rbac.objects.map(
      (object) => `${object.kind} ${object.metadata.namespace ?? ""}/${object.metadata.name}`,
    ),
    [
      "ServiceAccount health/runner",
      "ClusterRole /health-operator",
      "ClusterRoleBinding /health-operator",
      "Role default/health-operator",
      "Role health/health-operator",
      "RoleBinding default/health-operator",
      "RoleBinding health/health-operator",
    ],
  );
  for (const object of rbac.objects) {
    assert.deepEqual(object.metadata.labels, {
      team: "infra",
      "app.kubernetes.io/name": "health-operator",
    });
  }
  assert.deepEqual(rbac.clusterRoleBinding?.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: "health-operator",
  });
  assert.deepEqual(rbac.clusterRoleBinding?.subjects, [
    { kind: "ServiceAccount", name: "runner", namespace: "health" },
  ]);
  assert.deepEqual(
    rbac.roleBindings.map((binding) => binding.roleRef),
    rbac.roles.map((role) => ({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: role.metadata.name,
    })),
  );
  assert.equal(rbac.clusterRole?.apiVersion, ClusterRole.apiVersion);
  assert.deepEqual(
    rbac.clusterRole?.rules,
    rbacRules(clusterHealth, { namespace: "health" }).cluster,
  );
});

test("the manifests survive a YAML round trip unchanged", () => {
  const operators: Operator[] = [echoServer, foo, myapp, clusterHealth];
  for (const operator of operators) {
    const { objects } = rbacManifests(operator, { namespace: "ops" });
    const parsed = parseAllDocuments(toYaml(objects)).map((document) => document.toJS());
    assert.deepEqual(parsed, JSON.parse(JSON.stringify(objects)));
  }
});
