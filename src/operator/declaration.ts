/**
 * What a user declares: the parent type, the child types it may own (each with an update
 * strategy), related types mapped back to parents, and the `sync` / `finalize` functions.
 */
import type { Condition } from "../resources/conditions.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";

/**
 * How Operon brings an existing child to its desired state:
 * - `apply`: server-side apply in place (the default);
 * - `recreate`: delete and create again when a managed field differs (Pods, immutable Jobs);
 * - `onDelete`: create when missing, never update (the user deletes it to roll it).
 */
export type UpdateStrategy = "apply" | "recreate" | "onDelete";

/** A child type with options. */
export interface ChildDeclaration<T extends KubeObject = KubeObject> {
  readonly type: ResourceType<T>;
  readonly strategy?: UpdateStrategy;
}

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
}

/** A desired child: a full object; `metadata.namespace` defaults to the parent's. */
export type DesiredChild = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
};

/** The status of a parent object `P` (its type's status, or any object when it declares none). */
export type ParentStatus<P> = P extends { status?: infer S } ? S : Record<string, unknown>;

/** What `sync` returns. */
export interface SyncResult<P extends KubeObject> {
  /** The parent's status. Omitted: left as it is (Operon still maintains its own condition). */
  status?: ParentStatus<P> extends object
    ? Omit<ParentStatus<P>, "observedGeneration"> & { conditions?: Condition[] }
    : never;
  /** Every child that should exist; others the parent controls are deleted. */
  children?: DesiredChild[];
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

/** Everything a user declares about an operator. */
export interface OperatorDeclaration<
  P extends KubeObject,
  C extends Record<string, ChildSpec>,
  R extends Record<string, KubeObject>,
> {
  /** Names the field manager, the managed-by label, the finalizer and the metrics. DNS-1123 label. */
  name: string;
  parent: ResourceType<P>;
  /** Child types, by a name of your choice: a type (strategy `apply`) or `{ type, strategy }`. */
  children?: C;
  /** Related types, by a name of your choice; `sync` receives their objects under the same names. */
  related?: { [K in keyof R]: RelatedDeclaration<R[K], P> };
  /** Only parents (and children) in this namespace. Default: all namespaces. */
  namespace?: string;
  sync(request: SyncRequest<P, C, R>): SyncResult<P> | Promise<SyncResult<P>>;
  /** Cleanup before a parent goes away; Operon keeps a finalizer on parents while this exists. */
  finalize?(request: FinalizeRequest<P, C>): FinalizeResult<P> | Promise<FinalizeResult<P>>;
  /** Sync every parent at least this often (±10 % jitter). Default 10 minutes; 0 disables. */
  resyncPeriodMs?: number;
  /** Coalesce bursts of changes: a parent syncs at most once per this many ms. Default 0. */
  debounceMs?: number;
  /** Parents synced at the same time. Default 8. */
  concurrency?: number;
}

/** A declared operator, ready to run. */
export interface Operator<
  P extends KubeObject = KubeObject,
  C extends Record<string, ChildSpec> = Record<string, ChildSpec>,
  R extends Record<string, KubeObject> = Record<string, KubeObject>,
> extends OperatorDeclaration<P, C, R> {
  readonly kind: "Operator";
  /** Child declarations, normalised. */
  readonly childTypes: ReadonlyMap<string, Required<ChildDeclaration>>;
  /** The finalizer Operon puts on parents: `<name>.operon.dev/finalizer`. */
  readonly finalizer: string;
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

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
  const childTypes = new Map<string, Required<ChildDeclaration>>();
  const seen = new Map<string, string>();
  for (const [name, spec] of Object.entries(declaration.children ?? {})) {
    const normalised: Required<ChildDeclaration> =
      "type" in spec && typeof spec.type === "object"
        ? { type: spec.type, strategy: spec.strategy ?? "apply" }
        : { type: spec as ResourceType, strategy: "apply" };
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
    finalizer: `${declaration.name}.operon.dev/finalizer`,
  };
}

/** Declares a child type with an update strategy. */
export function child<T extends KubeObject>(
  type: ResourceType<T>,
  options: { strategy?: UpdateStrategy } = {},
): ChildDeclaration<T> {
  return { type, strategy: options.strategy ?? "apply" };
}

/** Declares a related type (see {@link RelatedDeclaration}). */
export function related<T extends KubeObject, P extends KubeObject = KubeObject>(
  type: ResourceType<T>,
  options: Omit<RelatedDeclaration<T, P>, "type"> = {},
): RelatedDeclaration<T, P> {
  return { type, ...options };
}
