/**
 * What a user declares: the parent type, the child types it may own (each with an update
 * strategy and deletion policies), related types mapped back to parents, and the `sync` /
 * `finalize` functions. The declared child types also type what `sync` may return.
 */
import type { KubeClient } from "../client/client.ts";
import type { Condition } from "../resources/conditions.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import type { PolicyRule } from "../resources/rbac.ts";

/**
 * How Operon brings an existing child to its desired state:
 * - `apply`: server-side apply in place (the default);
 * - `recreate`: delete and create again when a managed field differs (Pods, immutable Jobs);
 * - `onDelete`: create when missing, never update (the user deletes it to roll it).
 */
export type UpdateStrategy = "apply" | "recreate" | "onDelete";

/**
 * How the API server deletes a child's own dependents when Operon deletes the child (pruned,
 * recreated, or removed by the finalizer), as `kubectl delete --cascade` does:
 * - `Background` (the default, `kubectl delete`'s): the child goes at once, the garbage collector
 *   deletes its dependents (a Job's Pods, a Deployment's ReplicaSets) afterwards;
 * - `Foreground`: the child stays, marked for deletion, until its dependents are gone (a
 *   `recreate` then waits for them before creating the new child);
 * - `Orphan`: the dependents stay, without their owner.
 */
export type PropagationPolicy = "Background" | "Foreground" | "Orphan";

/**
 * What happens to the children of a type when their parent is deleted:
 * - `Delete` (the default): the garbage collector deletes them through their ownerReference;
 * - `Retain`: they stay (a StatefulSet's volume claims, say). Such children carry no
 *   ownerReference (nothing can cascade to them); Operon recognises them by the labels
 *   `operon.dev/parent-name`, `operon.dev/parent-namespace` and `operon.dev/parent-uid`, and a
 *   later parent of the same name takes them over. Children `sync` stops returning are still
 *   deleted while the parent exists.
 */
export type ParentDeletionPolicy = "Delete" | "Retain";

/** Per-type options of a child, given to {@link child}. */
export interface ChildOptions {
  /** How an existing child is brought to its desired state. Default `apply`. */
  strategy?: UpdateStrategy;
  /** How the child's own dependents are deleted with it. Default `Background`. */
  propagationPolicy?: PropagationPolicy;
  /** Whether children of this type outlive their parent. Default `Delete`. */
  whenParentDeleted?: ParentDeletionPolicy;
}

/** A child type with options. */
export interface ChildDeclaration<T extends KubeObject = KubeObject> extends ChildOptions {
  readonly type: ResourceType<T>;
}

/** A child declaration with every option filled in. */
export type ChildPolicy = { readonly type: ResourceType } & Required<ChildOptions>;

/** A related type: objects the parent does not own but reads, mapped back to parents. */
export interface RelatedDeclaration<
  T extends KubeObject = KubeObject,
  P extends KubeObject = KubeObject,
> {
  readonly type: ResourceType<T>;
  /** Only objects in this namespace (namespaced types). Default: all the operator watches. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  /**
   * Parents an object concerns, as `namespace/name` keys (`name` for a cluster-scoped parent).
   * Called for every change of a related object.
   */
  mapToParents?(object: T): Iterable<string>;
  /**
   * Which related objects reach `sync` for a parent. Default: all objects of the type in the
   * parent's namespace (namespaced types) or all of them (cluster-scoped types).
   */
  select?(parent: P, object: T): boolean;
  /**
   * Alternatively to `mapToParents` + `select`: a label selector (as a `matchLabels` map) read
   * from the parent, e.g. `(parent) => parent.spec.selector`. Related objects whose labels match
   * reach `sync`, and a change of such an object queues the parents that select it.
   */
  selectorFrom?(parent: P): Record<string, string> | undefined;
}

/** A child type as declared: a type (strategy `apply`) or a {@link ChildDeclaration}. */
export type ChildSpec = ResourceType<KubeObject> | ChildDeclaration<KubeObject>;
/** The object type of a child or related declaration. */
export type ObjectOfSpec<S> =
  S extends ResourceType<infer T>
    ? T
    : S extends ChildDeclaration<infer T>
      ? T
      : S extends RelatedDeclaration<infer T>
        ? T
        : never;

/** Read access to the children of one declared type. */
export interface ChildGroup<T extends KubeObject> extends Iterable<T> {
  /** The child with this name (in the parent's namespace unless given). */
  get(name: string, namespace?: string): T | undefined;
  has(name: string, namespace?: string): boolean;
  list(): T[];
  readonly size: number;
}

/** Why `sync` was called (every reason since the previous call). */
export type SyncReason =
  | "parent-changed"
  | "child-changed"
  | "related-changed"
  | "resync"
  | "requeue"
  | "retry"
  | "manual";

/** An event to record on the parent. */
export interface ParentEvent {
  type?: "Normal" | "Warning";
  /** UpperCamelCase, e.g. `Scaled`. */
  reason: string;
  message: string;
  /** What was done, e.g. `Scale`. Default: the reason. */
  action?: string;
}

/** What `sync` receives: a snapshot from the caches, no API calls needed. */
export interface SyncRequest<
  P extends KubeObject,
  C extends Record<string, ChildSpec>,
  R extends Record<string, KubeObject>,
> {
  readonly parent: P;
  /** Children the parent controls, grouped by the names given in `children`. */
  readonly children: { readonly [K in keyof C]: ChildGroup<ObjectOfSpec<C[K]>> };
  /** Related objects that concern the parent, grouped by the names given in `related`. */
  readonly related: { readonly [K in keyof R]: readonly R[K][] };
  readonly reasons: ReadonlySet<SyncReason>;
  /** Consecutive failures before this call. */
  readonly attempt: number;
  /** Aborted when the operator shuts down. */
  readonly signal: AbortSignal;
  /**
   * The time of this sync. Read the clock here rather than with `new Date()`, so that schedule
   * logic can be tested with any time (`callSync(op, { now })`, `runOperator(op, { now })`).
   */
  readonly now: Date;
  /**
   * The operator's client, for the rare step that is not a child: reading an object that is not
   * worth a cache, or a write that is not a desired object. Calls go to the API server on every
   * sync (no cache) and must be safe to repeat; see the documentation's "imperative steps".
   */
  readonly client: KubeClient;
}

/** The metadata of a desired child: a name is required; the namespace defaults to the parent's. */
export interface DesiredMetadata {
  /** The child's name; children are found again by name. */
  name: string;
  /** Default: the parent's (namespaced children must live in it). */
  namespace?: string;
  /** Operon adds `app.kubernetes.io/managed-by` (and, where needed, labels naming the parent). */
  labels?: Record<string, string>;
  /** Operon adds `operon.dev/desired-hash`. */
  annotations?: Record<string, string>;
}

/**
 * A desired child of the object type `T`: the object as you would apply it, with
 * {@link DesiredMetadata} and without `status`. A union `T` gives a union of desired objects,
 * discriminated by `apiVersion` and `kind`. (The keys are filtered with a mapped type rather than
 * `Omit`, which would lose the fields of kinds typed with an index signature.)
 */
export type Desired<T> = T extends unknown
  ? { [K in keyof T as K extends "metadata" | "status" ? never : K]: T[K] } & {
      metadata: DesiredMetadata;
    }
  : never;

/** What {@link desired} takes: a desired child of `T` without its `apiVersion` and `kind`. */
export type DesiredFields<T> = {
  [K in keyof Desired<T> as K extends "apiVersion" | "kind" ? never : K]: Desired<T>[K];
};

/**
 * A desired child of any type: a full object; `metadata.namespace` defaults to the parent's.
 * What an operator's `sync` may return is narrower: {@link DesiredChildOf} its declared types.
 */
export type DesiredChild = {
  apiVersion: string;
  kind: string;
  metadata: DesiredMetadata;
  [field: string]: unknown;
};

/**
 * The children `sync` may return for the declared child types `C`: one of the declared object
 * types (told apart by `apiVersion` and `kind`), so a misspelt field or an undeclared kind does
 * not compile.
 */
export type DesiredChildOf<C extends Record<string, ChildSpec>> = Desired<
  { [K in keyof C]: ObjectOfSpec<C[K]> }[keyof C]
>;

/** The status of a parent object `P` (its type's status, or any object when it declares none). */
export type ParentStatus<P> = P extends { status?: infer S } ? S : Record<string, unknown>;

/** What `sync` returns. */
export interface SyncResult<
  P extends KubeObject,
  C extends Record<string, ChildSpec> = Record<string, ChildSpec>,
> {
  /** The parent's status. Omitted: left as it is (Operon still maintains its own condition). */
  status?: ParentStatus<P> extends object
    ? Omit<ParentStatus<P>, "observedGeneration"> & { conditions?: Condition[] }
    : never;
  /** Every child that should exist; others the parent controls are deleted. */
  children?: DesiredChildOf<C>[];
  /** Sync again after this many milliseconds even if nothing changes. */
  requeueAfterMs?: number;
  /** Events to record on the parent. */
  events?: ParentEvent[];
}

/** What `finalize` receives. */
export interface FinalizeRequest<P extends KubeObject, C extends Record<string, ChildSpec>> {
  readonly parent: P;
  readonly children: { readonly [K in keyof C]: ChildGroup<ObjectOfSpec<C[K]>> };
  readonly attempt: number;
  readonly signal: AbortSignal;
  /** The time of this call (see {@link SyncRequest.now}). */
  readonly now: Date;
  /** The operator's client (see {@link SyncRequest.client}). */
  readonly client: KubeClient;
}

/** What `finalize` returns. */
export interface FinalizeResult<P extends KubeObject> {
  /** True when cleanup is complete: Operon removes its finalizer and the parent goes away. */
  finalized: boolean;
  /** When not finalized: try again after this many milliseconds (default: backoff). */
  retryAfterMs?: number;
  /** Status to show while finalizing. */
  status?: SyncResult<P>["status"];
  events?: ParentEvent[];
}

/**
 * The type of `sync`. `NoInfer` makes TypeScript check the function against the declared parent
 * and children once they are inferred, so the objects it returns keep their literal `apiVersion`
 * and `kind` and are checked against the declared child types; the method form keeps an
 * operator assignable to `Operator` (parameters compared bivariantly, as for methods).
 */
export type SyncFunction<
  P extends KubeObject,
  C extends Record<string, ChildSpec>,
  R extends Record<string, KubeObject>,
> = NoInfer<
  {
    sync(request: SyncRequest<P, C, R>): SyncResult<P, C> | Promise<SyncResult<P, C>>;
  }["sync"]
>;

/** Everything a user declares about an operator. */
export interface OperatorDeclaration<
  P extends KubeObject,
  C extends Record<string, ChildSpec>,
  R extends Record<string, KubeObject>,
> {
  /** Names the field manager, the managed-by label, the finalizer and the metrics. DNS-1123 label. */
  name: string;
  /**
   * The finalizer Operon keeps on parents while it needs one (a `finalize` function, or
   * cluster-scoped children of namespaced parents): a qualified name such as
   * `cache.example.com/finalizer`. Default `<name>.operon.dev/finalizer`. Renaming it leaves the
   * old name on existing parents: remove it by hand (`kubectl patch`) or they cannot be deleted.
   */
  finalizer?: string;
  parent: ResourceType<P>;
  /** Child types, by a name of your choice: a type (strategy `apply`) or `child(Type, { ... })`. */
  children?: C;
  /** Related types, by a name of your choice; `sync` receives their objects under the same names. */
  related?: { [K in keyof R]: RelatedDeclaration<R[K], P> };
  /** Only parents (and children) in this namespace. Default: all namespaces. */
  namespace?: string;
  /** The desired state of one parent: its status and children. */
  sync: SyncFunction<P, C, R>;
  /** Cleanup before a parent goes away; Operon keeps a finalizer on parents while this exists. */
  finalize?(request: FinalizeRequest<P, C>): FinalizeResult<P> | Promise<FinalizeResult<P>>;
  /** Sync every parent at least this often (±10 % jitter). Default 10 minutes; 0 disables. */
  resyncPeriodMs?: number;
  /** Coalesce bursts of changes: a parent syncs at most once per this many ms. Default 0. */
  debounceMs?: number;
  /** Parents synced at the same time. Default 8. */
  concurrency?: number;
  /**
   * Split the parents among the replicas that run this operator: each reconciles and caches only
   * its share, so adding replicas adds capacity. The manager runs it (see `ManagerOptions.sharding`,
   * `operon run --sharding`), and `operon generate` writes a Deployment that scales. Default
   * false: one replica reconciles everything while the others stand by.
   */
  sharding?: boolean;
  /**
   * RBAC rules for calls `sync` or `finalize` make themselves through `request.client` (Operon
   * derives the rest from the declaration). Added to the generated RBAC (`operon generate`,
   * `rbacRules`), in the operator's namespace when it has one.
   *
   * @example
   * extraRules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }]
   */
  extraRules?: readonly PolicyRule[];
}

/** A declared operator, ready to run. */
export interface Operator<
  P extends KubeObject = KubeObject,
  C extends Record<string, ChildSpec> = Record<string, ChildSpec>,
  R extends Record<string, KubeObject> = Record<string, KubeObject>,
> extends OperatorDeclaration<P, C, R> {
  readonly kind: "Operator";
  /** Child declarations, normalised. */
  readonly childTypes: ReadonlyMap<string, ChildPolicy>;
  /** The finalizer Operon puts on parents: the declared one, or `<name>.operon.dev/finalizer`. */
  readonly finalizer: string;
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A qualified name with a DNS subdomain prefix, as the API server expects of finalizers. */
const qualifiedFinalizer =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const strategies: readonly UpdateStrategy[] = ["apply", "recreate", "onDelete"];
const propagationPolicies: readonly PropagationPolicy[] = ["Background", "Foreground", "Orphan"];
const parentDeletionPolicies: readonly ParentDeletionPolicy[] = ["Delete", "Retain"];

function normaliseChild(operator: string, name: string, spec: ChildSpec): ChildPolicy {
  const declaration: ChildDeclaration =
    "type" in spec && typeof spec.type === "object" ? spec : { type: spec as ResourceType };
  const policy: ChildPolicy = {
    type: declaration.type,
    strategy: declaration.strategy ?? "apply",
    propagationPolicy: declaration.propagationPolicy ?? "Background",
    whenParentDeleted: declaration.whenParentDeleted ?? "Delete",
  };
  const check = <V extends string>(option: string, value: V, allowed: readonly V[]) => {
    if (!allowed.includes(value)) {
      throw new Error(
        `operator "${operator}": child "${name}" has ${option} "${value}"; use one of ${allowed.join(", ")}`,
      );
    }
  };
  check("strategy", policy.strategy, strategies);
  check("propagationPolicy", policy.propagationPolicy, propagationPolicies);
  check("whenParentDeleted", policy.whenParentDeleted, parentDeletionPolicies);
  return policy;
}

/**
 * Declares an operator. Types flow from the parent's declaration into `sync`.
 *
 * @example
 * import { ConfigMap, defineOperator } from "kube-operon";
 * import { Greeting } from "./greeting.ts"; // a defineResource(...) declaration
 *
 * export default defineOperator({
 *   name: "greeter",
 *   parent: Greeting,
 *   children: { configMaps: ConfigMap },
 *   sync({ parent }) {
 *     return {
 *       status: { message: `Hello, ${parent.spec.name}` },
 *       children: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: parent.metadata.name! }, data: { name: parent.spec.name } }],
 *     };
 *   },
 * });
 */
export function defineOperator<
  P extends KubeObject,
  const C extends Record<string, ChildSpec> = Record<never, ChildSpec>,
  R extends Record<string, KubeObject> = Record<never, KubeObject>,
>(declaration: OperatorDeclaration<P, C, R>): Operator<P, C, R> {
  if (!dns1123Label.test(declaration.name) || declaration.name.length > 50) {
    throw new Error(
      `operator name "${declaration.name}" must be a DNS-1123 label of at most 50 characters ` +
        "(lowercase letters, digits and '-'): it names the field manager, a label value and the finalizer",
    );
  }
  if (typeof declaration.sync !== "function") {
    throw new Error(`operator "${declaration.name}" needs a sync function`);
  }
  const finalizer = declaration.finalizer ?? `${declaration.name}.operon.dev/finalizer`;
  if (!qualifiedFinalizer.test(finalizer) || finalizer.length > 316) {
    throw new Error(
      `operator "${declaration.name}": finalizer "${finalizer}" must be a qualified name with a domain, such as "cache.example.com/finalizer"`,
    );
  }
  const childTypes = new Map<string, ChildPolicy>();
  const seen = new Map<string, string>();
  for (const [name, spec] of Object.entries(declaration.children ?? {})) {
    const normalised = normaliseChild(declaration.name, name, spec);
    const typeKey = `${normalised.type.apiVersion}/${normalised.type.kind}`;
    const other = seen.get(typeKey);
    if (other) {
      throw new Error(
        `operator "${declaration.name}": children "${other}" and "${name}" are both ${typeKey}; declare each type once`,
      );
    }
    seen.set(typeKey, name);
    childTypes.set(name, normalised);
  }
  for (const [name, related] of Object.entries<RelatedDeclaration>(declaration.related ?? {})) {
    if (related.selectorFrom && related.mapToParents) {
      throw new Error(
        `operator "${declaration.name}": related "${name}" gives both selectorFrom and mapToParents; use one`,
      );
    }
  }
  return {
    ...declaration,
    kind: "Operator",
    childTypes,
    finalizer,
  };
}

/**
 * Declares a child type with options: its update strategy, how its own dependents are deleted
 * with it, and whether it outlives the parent.
 *
 * @example
 * import { child, Job, PersistentVolumeClaim } from "kube-operon";
 *
 * const children = {
 *   // Jobs are immutable: delete and create again; their Pods go with them (the default).
 *   jobs: child(Job, { strategy: "recreate", propagationPolicy: "Background" }),
 *   // Volume claims stay when the parent is deleted; a parent of the same name takes them over.
 *   claims: child(PersistentVolumeClaim, { whenParentDeleted: "Retain" }),
 * };
 */
export function child<T extends KubeObject>(
  type: ResourceType<T>,
  options: ChildOptions = {},
): ChildDeclaration<T> {
  return { type, ...options };
}

/**
 * A desired child of `type`, its `apiVersion` and `kind` taken from the type. Children written
 * directly in the returned `children` array need no help; this is for those built elsewhere (in a
 * variable, a loop, a helper function), where TypeScript would widen `"v1"` to `string`.
 *
 * @example
 * import { ConfigMap, desired } from "kube-operon";
 *
 * const children = [];
 * for (const key of ["a", "b"]) {
 *   children.push(desired(ConfigMap, { metadata: { name: `settings-${key}` }, data: { key } }));
 * }
 */
export function desired<T extends KubeObject>(
  type: ResourceType<T>,
  object: DesiredFields<T>,
): Desired<T> {
  return { apiVersion: type.apiVersion, kind: type.kind, ...object } as unknown as Desired<T>;
}

/** Declares a related type (see {@link RelatedDeclaration}). */
export function related<T extends KubeObject, P extends KubeObject = KubeObject>(
  type: ResourceType<T>,
  options: Omit<RelatedDeclaration<T, P>, "type"> = {},
): RelatedDeclaration<T, P> {
  return { type, ...options };
}
