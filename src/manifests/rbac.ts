/**
 * RBAC from operator declarations: the ServiceAccount an operator runs as, and the
 * (Cluster)Roles and bindings that grant it exactly the API calls the runtime makes for the
 * declared parent, child and related types, its Events and its leader-election Lease.
 */
import type { Operator } from "../operator/declaration.ts";
import { Lease } from "../resources/coordination.ts";
import type { ServiceAccount } from "../resources/core.ts";
import { Event } from "../resources/events.ts";
import { groupOf, type ResourceType } from "../resources/object.ts";
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
} from "../resources/rbac.ts";

/**
 * Options of {@link rbacRules} and {@link rbacManifests}.
 *
 * @example
 * const options: RbacOptions = {
 *   namespace: "greeter-system",
 *   extraRules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
 * };
 */
export interface RbacOptions {
  /**
   * The namespace the operator runs in: where its ServiceAccount and its leader-election Lease
   * live.
   */
  namespace: string;
  /**
   * Names the ServiceAccount, the ClusterRole, the Roles and the bindings. Default: the first
   * operator's name. ClusterRoles are cluster-wide: give each installation its own name.
   */
  name?: string;
  /** The ServiceAccount's name. Default: `name`. */
  serviceAccountName?: string;
  /** Grant what leader election needs on Leases in `namespace`. Default true. */
  leaderElection?: boolean;
  /**
   * Grant what sharding needs: leader election's Lease verbs plus `list`, `watch` and `delete`
   * on Leases in `namespace` (every replica follows the member Leases; the coordinator deletes
   * departed members'). The shard labels on parents and children are written with `patch`, which
   * they have already. Default: when an operator is declared with `sharding: true`.
   */
  sharding?: boolean;
  /**
   * Extra rules for calls your own code makes (e.g. a `sync` that reads Secrets through its own
   * client). Merged with the generated rules: cluster-wide, or in the operator's namespace when it
   * is restricted to one (`defineOperator({ namespace })`). Rules with `resourceNames` or
   * `nonResourceURLs` are kept as given (the latter in the ClusterRole, the only place they work).
   */
  extraRules?: readonly PolicyRule[];
  /** Labels of every generated object, next to `app.kubernetes.io/name`. */
  labels?: Record<string, string>;
}

/** The rules an operator needs: cluster-wide, and per namespace. */
export interface RbacRules {
  /** Rules that must hold in every namespace (or are about cluster-scoped kinds): a ClusterRole. */
  cluster: PolicyRule[];
  /** Rules needed in one namespace only: a Role each, keyed and sorted by namespace. */
  namespaces: Record<string, PolicyRule[]>;
}

/** The ServiceAccount, roles and bindings of an operator; see {@link rbacManifests}. */
export interface OperatorRbac {
  serviceAccount: ServiceAccount;
  /** When some rule is cluster-wide. */
  clusterRole?: ClusterRole;
  clusterRoleBinding?: ClusterRoleBinding;
  /** One per namespace with namespace-only rules, sorted by namespace. */
  roles: Role[];
  /** One per Role, same order. */
  roleBindings: RoleBinding[];
  /** Every object above, in the order to apply them. */
  objects: (ServiceAccount | ClusterRole | ClusterRoleBinding | Role | RoleBinding)[];
}

/**
 * An operator's types cannot be turned into RBAC rules (the message says how to fix it).
 *
 * @example
 * try {
 *   rbacRules(operator, { namespace: "ops" });
 * } catch (error) {
 *   if (error instanceof RbacGenerationError) console.error(error.message);
 * }
 */
export class RbacGenerationError extends Error {
  override name = "RbacGenerationError";
}

const rbacApiVersion = "rbac.authorization.k8s.io/v1";
/** The cluster-wide scope in the grant table. */
const clusterScope = "";

/**
 * Verbs the runtime uses, per role a type plays. Reads are always the full get/list/watch trio:
 * list and watch already expose every object, so `get` grants nothing more.
 */
const readVerbs = ["get", "list", "watch"];
/**
 * Informers list and watch; the finalizer is added and removed with a JSON patch. `patch` is
 * granted even to operators that need no finalizer, so one left by an earlier version of the
 * operator can still be removed and its parents deleted.
 */
const parentVerbs = [...readVerbs, "patch"];
/**
 * Children are cached (list, watch), looked up by name past the cache (get), written with
 * server-side apply (patch, plus create: an apply that creates the object is authorized as a
 * create too) and deleted when no longer desired or when recreated.
 */
const childVerbs = [...readVerbs, "create", "patch", "delete"];
/** The status is written with server-side apply on `/status`. */
const statusVerbs = ["patch"];
/**
 * With the OwnerReferencesPermissionEnforcement admission plugin, an ownerReference with
 * `blockOwnerDeletion` needs `update` on the owner's `finalizers` subresource.
 */
const finalizersVerbs = ["update"];
/** Events are created, and repeats fold into the first one's `series` with a merge patch. */
const eventVerbs = ["create", "patch"];
/** client-go's Lease algorithm: read, create the first time, then update with resourceVersion. */
const leaseVerbs = ["create", "get", "update"];
/** Sharding: member Leases are watched by every replica and deleted when their member leaves. */
const shardLeaseVerbs = [...leaseVerbs, "delete", "list", "watch"];

type GrantTable = Map<string, Map<string, Set<string>>>;

function describeType(type: ResourceType): string {
  return `${type.apiVersion} ${type.kind}`;
}

/** The group, plural and scope of a type, or an error naming the operator and the type's role. */
function typeInfo(
  operator: Operator,
  role: string,
  type: ResourceType,
): { group: string; plural: string; namespaced: boolean } {
  const fix =
    "declare it with defineResource(...) or resourceType(apiVersion, kind, plural, namespaced)";
  if (!type.plural) {
    throw new RbacGenerationError(
      `operator "${operator.name}": ${role} ${describeType(type)} has no plural, so its RBAC resource name is unknown; ${fix}`,
    );
  }
  if (type.namespaced === undefined) {
    throw new RbacGenerationError(
      `operator "${operator.name}": ${role} ${describeType(type)} does not say whether it is namespaced, so it is unknown whether a Role can grant it; ${fix}`,
    );
  }
  return { group: groupOf(type.apiVersion), plural: type.plural, namespaced: type.namespaced };
}

function grant(
  table: GrantTable,
  scope: string,
  group: string,
  resource: string,
  verbs: readonly string[],
): void {
  let resources = table.get(scope);
  if (!resources) {
    resources = new Map();
    table.set(scope, resources);
  }
  const key = `${group}\u0000${resource}`;
  let set = resources.get(key);
  if (!set) {
    set = new Set();
    resources.set(key, set);
  }
  for (const verb of verbs) set.add(verb);
}

function grantOperator(table: GrantTable, operator: Operator): void {
  const restrictedTo = operator.namespace;
  /** Where the runtime touches a type: the operator's namespace when restricted, else anywhere. */
  const scopeOf = (namespaced: boolean) =>
    namespaced && restrictedTo ? restrictedTo : clusterScope;

  const parent = typeInfo(operator, "parent", operator.parent);
  const parentScope = scopeOf(parent.namespaced);
  grant(table, parentScope, parent.group, parent.plural, parentVerbs);
  grant(table, parentScope, parent.group, `${parent.plural}/status`, statusVerbs);

  let ownerReferences = false;
  for (const [name, declaration] of operator.childTypes) {
    const child = typeInfo(operator, `child "${name}"`, declaration.type);
    grant(table, scopeOf(child.namespaced), child.group, child.plural, childVerbs);
    // A cluster-scoped child of a namespaced parent is tracked by labels, not an ownerReference.
    if (child.namespaced || !parent.namespaced) ownerReferences = true;
  }
  if (ownerReferences) {
    grant(table, parentScope, parent.group, `${parent.plural}/finalizers`, finalizersVerbs);
  }

  for (const [name, declaration] of Object.entries(operator.related ?? {})) {
    const related = typeInfo(operator, `related "${name}"`, declaration.type);
    const scope =
      related.namespaced && declaration.namespace
        ? declaration.namespace
        : scopeOf(related.namespaced);
    grant(table, scope, related.group, related.plural, readVerbs);
  }

  // Events go to the parent's namespace; those about cluster-scoped parents to `default`.
  const events = typeInfo(operator, "events", Event);
  grant(
    table,
    parent.namespaced ? parentScope : "default",
    events.group,
    events.plural,
    eventVerbs,
  );
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Rules of one scope: resources of a group with the same verbs share a rule. */
function toRules(resources: Map<string, Set<string>>): PolicyRule[] {
  const byGroupAndVerbs = new Map<
    string,
    { group: string; verbs: string[]; resources: string[] }
  >();
  for (const [key, verbSet] of resources) {
    const [group, resource] = key.split("\u0000") as [string, string];
    const verbs = [...verbSet].sort(compare);
    const id = `${group}\u0000${verbs.join(",")}`;
    const entry = byGroupAndVerbs.get(id) ?? { group, verbs, resources: [] };
    entry.resources.push(resource);
    byGroupAndVerbs.set(id, entry);
  }
  return [...byGroupAndVerbs.values()]
    .map((entry) => ({ ...entry, resources: entry.resources.sort(compare) }))
    .sort(
      (a, b) =>
        compare(a.group, b.group) ||
        compare(a.resources[0]!, b.resources[0]!) ||
        compare(a.verbs.join(","), b.verbs.join(",")),
    )
    .map(({ group, resources: names, verbs }) => ({
      apiGroups: [group],
      resources: names,
      verbs,
    }));
}

function asList(operators: Operator | readonly Operator[]): readonly Operator[] {
  const list = Array.isArray(operators) ? operators : [operators as Operator];
  if (list.length === 0) throw new RbacGenerationError("no operators given");
  return list;
}

/**
 * The rules a set of operators running together needs, merged per API group and resource and
 * sorted, so the same declarations always give the same rules:
 *
 * - parent: `get`, `list`, `watch`, `patch` (the finalizer); `<plural>/status`: `patch`
 *   (server-side apply); `<plural>/finalizers`: `update` when children carry ownerReferences;
 * - each child type: `get`, `list`, `watch`, `create`, `patch`, `delete`;
 * - each related type: `get`, `list`, `watch` (in its declared namespace, if any);
 * - `events.k8s.io` events: `create`, `patch` where the parents are (`default` for
 *   cluster-scoped parents);
 * - `coordination.k8s.io` leases: `get`, `create`, `update` in `namespace` (leader election),
 *   and `list`, `watch`, `delete` with sharding (member Leases).
 *
 * Namespaced types of an operator restricted to a namespace are granted in that namespace only;
 * everything else cluster-wide. Verbs granted cluster-wide are not repeated in a namespace.
 *
 * @throws RbacGenerationError when a type lacks its plural or scope.
 *
 * @example
 * import { rbacRules } from "kube-operon";
 * import echoServer from "./echo-server.ts";
 *
 * const { cluster, namespaces } = rbacRules(echoServer, { namespace: "echo-system" });
 * // cluster: pods and services (children), echoservers (parent), events;
 * // namespaces["echo-system"]: leases
 */
export function rbacRules(
  operators: Operator | readonly Operator[],
  options: RbacOptions,
): RbacRules {
  const list = asList(operators);
  const table: GrantTable = new Map();
  for (const operator of list) grantOperator(table, operator);
  const sharding = options.sharding ?? list.some((operator) => operator.sharding === true);
  if (sharding || (options.leaderElection ?? true)) {
    grant(
      table,
      options.namespace,
      groupOf(Lease.apiVersion),
      Lease.plural!,
      sharding ? shardLeaseVerbs : leaseVerbs,
    );
  }
  const first = list[0]!.namespace;
  const extraScope =
    first && list.every((operator) => operator.namespace === first) ? first : clusterScope;
  /** Rules about single objects or URLs, by scope: they do not merge with the per-resource table. */
  const verbatim = new Map<string, PolicyRule[]>();
  const grantExtra = (rules: readonly PolicyRule[], scope: string) => {
    for (const rule of rules) {
      if (rule.resourceNames?.length || rule.nonResourceURLs?.length) {
        verbatim.set(scope, [...(verbatim.get(scope) ?? []), structuredClone(rule)]);
        continue;
      }
      for (const group of rule.apiGroups ?? [""]) {
        for (const resource of rule.resources ?? []) {
          grant(table, scope, group, resource, rule.verbs);
        }
      }
    }
  };
  grantExtra(options.extraRules ?? [], extraScope);
  // An operator's own extra rules apply where it works: its namespace, or the whole cluster.
  for (const operator of list)
    grantExtra(operator.extraRules ?? [], operator.namespace ?? clusterScope);

  const cluster = table.get(clusterScope) ?? new Map<string, Set<string>>();
  const namespaces: Record<string, PolicyRule[]> = {};
  for (const scope of [...table.keys()].filter((s) => s !== clusterScope).sort(compare)) {
    const remaining = new Map<string, Set<string>>();
    for (const [key, verbs] of table.get(scope)!) {
      const left = new Set([...verbs].filter((verb) => !cluster.get(key)?.has(verb)));
      if (left.size > 0) remaining.set(key, left);
    }
    if (remaining.size > 0) namespaces[scope] = toRules(remaining);
  }
  const clusterRules = toRules(cluster);
  const nonResource: PolicyRule[] = [];
  for (const [scope, rules] of verbatim) {
    // Non-resource URLs can only be granted by a ClusterRole.
    nonResource.push(...rules.filter((rule) => rule.nonResourceURLs?.length));
    const named = rules.filter((rule) => !rule.nonResourceURLs?.length);
    if (scope === clusterScope) clusterRules.push(...named);
    else if (named.length > 0) namespaces[scope] = [...(namespaces[scope] ?? []), ...named];
  }
  clusterRules.push(...nonResource);
  const sorted = Object.fromEntries(
    Object.keys(namespaces)
      .sort(compare)
      .map((namespace) => [namespace, namespaces[namespace]!]),
  );
  return { cluster: clusterRules, namespaces: sorted };
}

/**
 * The ServiceAccount an operator runs as, a ClusterRole and ClusterRoleBinding for the
 * cluster-wide rules, and a Role and RoleBinding in each namespace with namespace-only rules
 * (see {@link rbacRules}).
 *
 * @throws RbacGenerationError when a type lacks its plural or scope.
 *
 * @example
 * import { rbacManifests, toYaml } from "kube-operon";
 * import myapp from "./myapp.ts";
 *
 * const rbac = rbacManifests(myapp, { namespace: "myapp-system" });
 * await writeFile("deploy/rbac.yaml", toYaml(rbac.objects));
 */
export function rbacManifests(
  operators: Operator | readonly Operator[],
  options: RbacOptions,
): OperatorRbac {
  const list = asList(operators);
  const name = options.name ?? list[0]!.name;
  const serviceAccountName = options.serviceAccountName ?? name;
  const labels = { ...options.labels, "app.kubernetes.io/name": name };
  const rules = rbacRules(list, options);
  const subjects = [
    { kind: "ServiceAccount" as const, name: serviceAccountName, namespace: options.namespace },
  ];

  const serviceAccount: ServiceAccount = {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: serviceAccountName, namespace: options.namespace, labels: { ...labels } },
  };
  const result: OperatorRbac = { serviceAccount, roles: [], roleBindings: [], objects: [] };
  if (rules.cluster.length > 0) {
    result.clusterRole = {
      apiVersion: rbacApiVersion,
      kind: "ClusterRole",
      metadata: { name, labels: { ...labels } },
      rules: rules.cluster,
    };
    result.clusterRoleBinding = {
      apiVersion: rbacApiVersion,
      kind: "ClusterRoleBinding",
      metadata: { name, labels: { ...labels } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
      subjects: structuredClone(subjects),
    };
  }
  for (const [namespace, namespaceRules] of Object.entries(rules.namespaces)) {
    result.roles.push({
      apiVersion: rbacApiVersion,
      kind: "Role",
      metadata: { name, namespace, labels: { ...labels } },
      rules: namespaceRules,
    });
    result.roleBindings.push({
      apiVersion: rbacApiVersion,
      kind: "RoleBinding",
      metadata: { name, namespace, labels: { ...labels } },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: structuredClone(subjects),
    });
  }
  result.objects = [
    serviceAccount,
    ...(result.clusterRole ? [result.clusterRole, result.clusterRoleBinding!] : []),
    ...result.roles,
    ...result.roleBindings,
  ];
  return result;
}
