import assert from "node:assert/strict";
import { test } from "node:test";
import * as resources from "./index.ts";
import type { ResourceType } from "./object.ts";

/** Every built-in kind: [export name, apiVersion, plural, namespaced]. */
const builtinKinds: [string, string, string, boolean][] = [
  ["Pod", "v1", "pods", true],
  ["Service", "v1", "services", true],
  ["ConfigMap", "v1", "configmaps", true],
  ["Secret", "v1", "secrets", true],
  ["ServiceAccount", "v1", "serviceaccounts", true],
  ["Namespace", "v1", "namespaces", false],
  ["Node", "v1", "nodes", false],
  ["PersistentVolumeClaim", "v1", "persistentvolumeclaims", true],
  ["Event", "events.k8s.io/v1", "events", true],
  ["Lease", "coordination.k8s.io/v1", "leases", true],
  ["Deployment", "apps/v1", "deployments", true],
  ["StatefulSet", "apps/v1", "statefulsets", true],
  ["DaemonSet", "apps/v1", "daemonsets", true],
  ["ReplicaSet", "apps/v1", "replicasets", true],
  ["Job", "batch/v1", "jobs", true],
  ["CronJob", "batch/v1", "cronjobs", true],
  ["Ingress", "networking.k8s.io/v1", "ingresses", true],
  ["NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", true],
  ["PodDisruptionBudget", "policy/v1", "poddisruptionbudgets", true],
  ["Role", "rbac.authorization.k8s.io/v1", "roles", true],
  ["RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", true],
  ["ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", false],
  ["ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings", false],
  ["CustomResourceDefinition", "apiextensions.k8s.io/v1", "customresourcedefinitions", false],
  [
    "ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1",
    "validatingwebhookconfigurations",
    false,
  ],
  [
    "MutatingWebhookConfiguration",
    "admissionregistration.k8s.io/v1",
    "mutatingwebhookconfigurations",
    false,
  ],
];

test("each built-in kind is exported as a frozen ResourceType under its kind name", () => {
  const exported = resources as unknown as Record<string, ResourceType>;
  for (const [name, apiVersion, plural, namespaced] of builtinKinds) {
    const type = exported[name];
    assert.ok(type, `${name} is exported`);
    assert.deepEqual({ ...type }, { apiVersion, kind: name, plural, namespaced }, name);
    assert.ok(Object.isFrozen(type), `${name} is frozen`);
  }
});
