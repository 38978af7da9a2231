/**
 * The shape every Kubernetes object shares (`apiVersion`, `kind`, `metadata`), with no I/O.
 *
 * Every layer above the client speaks in these types; built-in kinds and custom kinds add their
 * own `spec` and `status` on top.
 */

/** A reference from an object to the object that owns it (`metadata.ownerReferences[]`). */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** One entry of `metadata.managedFields`, written by the API server for server-side apply. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: "Apply" | "Update";
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

/** Standard object metadata (`metav1.ObjectMeta`). */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

/** Any Kubernetes object. `spec`, `status` and other top-level fields depend on the kind. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/**
 * The metadata-only form of any object (`meta.k8s.io/v1` `PartialObjectMetadata`): what the API
 * server sends when a read asks for it, and what metadata-only caches hold.
 */
export interface PartialObjectMetadata extends KubeObject {
  /** The object's metadata, as whole as the object's own. */
  metadata: ObjectMeta;
}

/** List metadata (`metav1.ListMeta`). */
export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

/** A list response (`FooList`). */
export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

/**
 * Identifies a kind of object for the client, the caches and the operator layer. `T` is the
 * TypeScript type of its objects, carried only at the type level.
 *
 * `plural` and `namespaced` may be given when known statically (built-in kinds and declared custom
 * kinds); otherwise the client finds them through discovery.
 */
export interface ResourceType<T extends KubeObject = KubeObject> {
  /** `group/version`, or `v1` for the core group. */
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural?: string;
  readonly namespaced?: boolean;
  /** Phantom field: never set at run time; lets `T` flow through generic APIs. */
  readonly __object?: T;
}

/** The object type carried by a `ResourceType`. */
export type ObjectOf<R> = R extends ResourceType<infer T> ? T : never;

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones: the cache and queue key. */
export function objectKey(object: { metadata: ObjectMeta }): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${namespace}/${name}` : `${name ?? ""}`;
}

/** Splits an `objectKey` back into namespace and name. */
export function parseObjectKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The group of an `apiVersion` (`""` for the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** The version of an `apiVersion`. */
export function versionOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
}

/**
 * Declares a `ResourceType` for a kind whose objects are typed `T`: how built-in kinds are declared,
 * and how to type a kind that another project owns (for kinds declared in this program, use
 * `defineResource`).
 *
 * @example
 * type Certificate = KubeObject & { spec: { secretName: string; dnsNames?: string[] } };
 * const Certificate = resourceType<Certificate>("cert-manager.io/v1", "Certificate", "certificates", true);
 */
export function resourceType<T extends KubeObject>(
  apiVersion: T["apiVersion"],
  kind: T["kind"],
  plural: string,
  namespaced: boolean,
): ResourceType<T> {
  return Object.freeze({ apiVersion, kind, plural, namespaced });
}
