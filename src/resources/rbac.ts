/**
 * Kinds of the `rbac.authorization.k8s.io/v1` group: Role, ClusterRole, RoleBinding and
 * ClusterRoleBinding.
 */
import type { LabelSelector } from "./meta.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/**
 * Verbs allowed on resources (or non-resource URLs).
 *
 * @example
 * const rule: PolicyRule = { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch"] };
 */
export interface PolicyRule {
  verbs: string[];
  /** `""` is the core group. */
  apiGroups?: string[];
  /** e.g. `deployments`, `deployments/status`. */
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** Who a binding grants the role to. */
export interface Subject {
  kind: "User" | "Group" | "ServiceAccount";
  /** `rbac.authorization.k8s.io` for users and groups, `""` for service accounts. */
  apiGroup?: string;
  name: string;
  /** For service accounts. */
  namespace?: string;
}

/** The role a binding grants. */
export interface RoleRef {
  apiGroup: "rbac.authorization.k8s.io";
  kind: "Role" | "ClusterRole";
  name: string;
}

const rbacVersion = "rbac.authorization.k8s.io/v1";

/** A Role (`rbac.authorization.k8s.io/v1/Role`): permissions within one namespace. */
export type Role = {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "Role";
  metadata: ObjectMeta;
  rules?: PolicyRule[];
};
/** The `Role` kind: `rbac.authorization.k8s.io/v1`, `roles`, namespaced. */
export const Role = resourceType<Role>(rbacVersion, "Role", "roles", true);

/** A ClusterRole (`rbac.authorization.k8s.io/v1/ClusterRole`): permissions cluster-wide. */
export type ClusterRole = {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "ClusterRole";
  metadata: ObjectMeta;
  rules?: PolicyRule[];
  /** Fills `rules` from the ClusterRoles these selectors match. */
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
};
/** The `ClusterRole` kind: `rbac.authorization.k8s.io/v1`, `clusterroles`, cluster-scoped. */
export const ClusterRole = resourceType<ClusterRole>(
  rbacVersion,
  "ClusterRole",
  "clusterroles",
  false,
);

/**
 * A RoleBinding (`rbac.authorization.k8s.io/v1/RoleBinding`): grants a Role or ClusterRole within
 * one namespace.
 *
 * @example
 * const binding: RoleBinding = {
 *   apiVersion: "rbac.authorization.k8s.io/v1",
 *   kind: "RoleBinding",
 *   metadata: { name: "operator", namespace: "apps" },
 *   roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "operator" },
 *   subjects: [{ kind: "ServiceAccount", name: "operator", namespace: "apps" }],
 * };
 */
export type RoleBinding = {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "RoleBinding";
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
};
/** The `RoleBinding` kind: `rbac.authorization.k8s.io/v1`, `rolebindings`, namespaced. */
export const RoleBinding = resourceType<RoleBinding>(
  rbacVersion,
  "RoleBinding",
  "rolebindings",
  true,
);

/** A ClusterRoleBinding (`rbac.authorization.k8s.io/v1/ClusterRoleBinding`): grants a ClusterRole cluster-wide. */
export type ClusterRoleBinding = {
  apiVersion: "rbac.authorization.k8s.io/v1";
  kind: "ClusterRoleBinding";
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
};
/** The `ClusterRoleBinding` kind: `rbac.authorization.k8s.io/v1`, `clusterrolebindings`, cluster-scoped. */
export const ClusterRoleBinding = resourceType<ClusterRoleBinding>(
  rbacVersion,
  "ClusterRoleBinding",
  "clusterrolebindings",
  false,
);
