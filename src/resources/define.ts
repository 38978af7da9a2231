/**
 * `defineResource`: declares a custom kind once, from its schemas. The TypeScript type of its
 * objects is inferred from the schemas, and the declaration carries everything the CRD generator
 * (`src/manifests`) needs.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import type {
  CustomResourceColumnDefinition,
  CustomResourceSubresourceScale,
  ValidationRule,
} from "./apiextensions.ts";
import type { KubeObject, ObjectMeta, ResourceType } from "./object.ts";

/** Whether objects of a kind live in a namespace. */
export type Scope = "Namespaced" | "Cluster";

/** An extra `kubectl get` column. */
export type PrinterColumn = CustomResourceColumnDefinition;

/** The scale subresource: lets `kubectl scale` and autoscalers set the replicas field. */
export type ScaleSubresource = CustomResourceSubresourceScale;

/** Options of one version of a custom kind. */
export interface VersionOptions {
  /** Served by the API server. Default true. */
  served?: boolean;
  /** Marks the version deprecated; clients get a warning. */
  deprecated?: boolean;
  /** The warning clients get (implies `deprecated`). At most 256 characters. */
  deprecationWarning?: string;
  /** Extra `kubectl get` columns. */
  printerColumns?: readonly PrinterColumn[];
  /** Append the standard `Age` column (from `.metadata.creationTimestamp`). Default true. */
  ageColumn?: boolean;
  /**
   * The scale subresource, e.g. `{ specReplicasPath: ".spec.replicas", statusReplicasPath:
   * ".status.replicas" }`.
   */
  scale?: ScaleSubresource;
  /** Fields usable in field selectors, e.g. `[".spec.color"]`. */
  selectableFields?: readonly string[];
  /**
   * CEL rules on the whole object (`self` is the object), e.g. rules relating `metadata.name` to
   * `spec`.
   */
  validations?: readonly ValidationRule[];
  /**
   * Constraints on `metadata.name` / `metadata.generateName` (the only metadata a CRD may
   * constrain), e.g. `Type.Object({ name: Type.String({ maxLength: 40 }) })`.
   */
  metadata?: TSchema;
  /** The description of the object (what `kubectl explain <kind>` shows). */
  description?: string;
}

/** One version of a custom kind: its schemas and options. */
export interface VersionDefinition extends VersionOptions {
  /** The schema of `spec`. */
  spec: TSchema;
  /** The schema of `status`; enables the status subresource. */
  status?: TSchema;
  /** The version objects are stored in. Exactly one version sets it (implied for a single version). */
  storage?: boolean;
}

/** What every declaration of a custom kind has. */
export interface ResourceNames {
  /** The API group, a domain you own, e.g. `example.com`. */
  group: string;
  /** The kind in CamelCase, e.g. `Widget`. */
  kind: string;
  /** The lowercase plural used in URLs, e.g. `widgets`. */
  plural: string;
  /** Default: `kind` in lowercase. */
  singular?: string;
  /** Default: `${kind}List`. */
  listKind?: string;
  /** Short names for kubectl, e.g. `["wd"]`. */
  shortNames?: readonly string[];
  /** Groups of kinds kubectl can list together, e.g. `["all"]`. */
  categories?: readonly string[];
  scope: Scope;
}

/** A custom kind with one version. */
export interface SingleVersionDefinition extends ResourceNames, VersionDefinition {
  /** The version name, e.g. `v1`. */
  version: string;
  versions?: never;
}

/** A custom kind with several versions, keyed by version name. */
export interface MultiVersionDefinition extends ResourceNames {
  versions: Readonly<Record<string, VersionDefinition>>;
  /** The description of the object, for versions that do not give their own. */
  description?: string;
  version?: never;
  spec?: never;
  status?: never;
}

/** The argument of {@link defineResource}. */
export type ResourceDefinition = SingleVersionDefinition | MultiVersionDefinition;

/** One version of a declared custom kind, normalized. */
export interface DeclaredVersion extends VersionOptions {
  readonly name: string;
  readonly served: boolean;
  readonly storage: boolean;
  readonly spec: TSchema;
  readonly status?: TSchema;
}

/** A declared custom kind, normalized: what the CRD generator reads. */
export interface CustomResourceDeclaration {
  readonly group: string;
  readonly names: {
    readonly kind: string;
    readonly plural: string;
    readonly singular: string;
    readonly listKind: string;
    readonly shortNames: readonly string[];
    readonly categories: readonly string[];
  };
  readonly scope: Scope;
  /** In declaration order. */
  readonly versions: readonly DeclaredVersion[];
}

/** Flattens an intersection into one object type, for readable hovers. */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** `{ status?: ... }` when a version declares a status schema. */
export type StatusPart<V> = V extends { status: infer S extends TSchema }
  ? { status?: Static<S> }
  : unknown;

/**
 * The object type of a custom kind version: `apiVersion`, `kind`, `metadata`, the `spec` inferred
 * from its schema and, when the version has a status schema, an optional `status`.
 */
export type CustomObject<ApiVersion extends string, Kind extends string, V> = Simplify<
  {
    apiVersion: ApiVersion;
    kind: Kind;
    metadata: ObjectMeta;
    spec: V extends { spec: infer S extends TSchema } ? Static<S> : never;
  } & StatusPart<V>
>;

/** The versions of a definition, by name (a single-version definition is its own version). */
export type VersionsOf<D> = D extends { versions: infer Vs }
  ? Vs
  : D extends { version: infer N extends string }
    ? { [K in N]: D }
    : never;

/** The API group of a definition. */
export type GroupOf<D> = D extends { group: infer G extends string } ? G : string;
/** The kind of a definition. */
export type KindOf<D> = D extends { kind: infer K extends string } ? K : string;

/** The object types of every version of a definition, by version name. */
export type VersionObjects<D> = {
  [N in keyof VersionsOf<D> & string]: CustomObject<
    `${GroupOf<D>}/${N}`,
    KindOf<D>,
    VersionsOf<D>[N]
  >;
};

/** Whether `U` is a union of several types. */
export type IsUnion<U, All = U> = U extends unknown ? ([All] extends [U] ? false : true) : never;

/** The names of the versions marked `storage: true`. */
export type StorageNames<Vs> = {
  [N in keyof Vs]: Vs[N] extends { storage: true } ? N : never;
}[keyof Vs];

/** The names of versions whose `storage` is a `boolean` not known statically. */
export type UncertainStorage<Vs> = {
  [N in keyof Vs]: Vs[N] extends { storage: true }
    ? never
    : Vs[N] extends { storage: false }
      ? never
      : Vs[N] extends { storage: boolean }
        ? N
        : never;
}[keyof Vs];

/** The name of the storage version of a definition (all names when it cannot be told statically). */
export type StorageVersionOf<D> = D extends { version: infer N extends string }
  ? N
  : [StorageNames<VersionsOf<D>>] extends [never]
    ? keyof VersionsOf<D> & string
    : IsUnion<StorageNames<VersionsOf<D>>> extends true
      ? keyof VersionsOf<D> & string
      : StorageNames<VersionsOf<D>> & string;

/**
 * Turns a definition with no or several `storage: true` versions into a type error that says so.
 */
export type StorageCheck<D> = D extends { versions: infer Vs }
  ? [UncertainStorage<Vs>] extends [never]
    ? [StorageNames<Vs>] extends [never]
      ? { "exactly one version must set storage: true": never }
      : IsUnion<StorageNames<Vs>> extends true
        ? { "exactly one version must set storage: true": never }
        : unknown
    : unknown
  : unknown;

/**
 * A declared custom kind: a `ResourceType` (for the client, caches and operators) that also carries
 * its declaration (for the CRD generator) and a `ResourceType` per version.
 */
export interface CustomResourceType<
  T extends KubeObject = KubeObject,
  Versions extends Record<string, KubeObject> = Record<string, KubeObject>,
> extends ResourceType<T> {
  readonly apiVersion: T["apiVersion"];
  readonly kind: T["kind"];
  readonly plural: string;
  readonly namespaced: boolean;
  readonly group: string;
  /** This type's version (the storage version for the type `defineResource` returns). */
  readonly version: string;
  readonly definition: CustomResourceDeclaration;
  /** A `ResourceType` for each version, typed with that version's schema. */
  readonly versions: { readonly [N in keyof Versions]: CustomResourceType<Versions[N], Versions> };
}

/** The `spec` type of a kind's objects. */
export type SpecOf<R> =
  R extends ResourceType<infer T> ? (T extends { spec?: infer S } ? S : never) : never;

/** The `status` type of a kind's objects. */
export type StatusOf<R> =
  R extends ResourceType<infer T> ? (T extends { status?: infer S } ? S : never) : never;

/** The error {@link defineResource} throws for an invalid declaration. */
export class ResourceDefinitionError extends Error {
  override name = "ResourceDefinitionError";
}

const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const kindPattern = /^[A-Z][A-Za-z0-9]*$/;

function fail(kind: string, message: string): never {
  throw new ResourceDefinitionError(`defineResource(${kind || "?"}): ${message}`);
}

function checkLabel(kind: string, what: string, value: string): void {
  if (value.length > 63 || !dns1035Label.test(value)) {
    fail(
      kind,
      `${what} "${value}" must be a lowercase DNS label: letters, digits and '-', starting with a letter, at most 63 characters`,
    );
  }
}

function checkNames(definition: ResourceDefinition): void {
  const { group, kind, plural } = definition;
  if (!kindPattern.test(kind) || kind.length > 63) {
    fail(
      kind,
      `kind "${kind}" must be CamelCase letters and digits, starting with an uppercase letter`,
    );
  }
  if (group.length > 253 || !dns1123Subdomain.test(group) || !group.includes(".")) {
    fail(
      kind,
      `group "${group}" must be a lowercase domain with at least one dot, e.g. "example.com"`,
    );
  }
  if (/(^|\.)(k8s\.io|kubernetes\.io)$/.test(group)) {
    fail(
      kind,
      `group "${group}" is reserved for Kubernetes community APIs (they need API review approval); use a domain you own`,
    );
  }
  checkLabel(kind, "plural", plural);
  if (definition.singular !== undefined) checkLabel(kind, "singular", definition.singular);
  for (const name of definition.shortNames ?? []) checkLabel(kind, "short name", name);
  for (const name of definition.categories ?? []) checkLabel(kind, "category", name);
  if (definition.listKind !== undefined && !kindPattern.test(definition.listKind)) {
    fail(kind, `listKind "${definition.listKind}" must be CamelCase`);
  }
  if (definition.listKind === kind) fail(kind, "listKind must differ from kind");
  if (definition.scope !== "Namespaced" && definition.scope !== "Cluster") {
    fail(kind, `scope must be "Namespaced" or "Cluster", not "${String(definition.scope)}"`);
  }
}

function normalizeVersion(
  kind: string,
  name: string,
  version: VersionDefinition,
  storage: boolean,
  description: string | undefined,
): DeclaredVersion {
  checkLabel(kind, "version", name);
  if (!version.spec || typeof version.spec !== "object") {
    fail(kind, `version ${name} needs a spec schema`);
  }
  const warning = version.deprecationWarning;
  if (warning !== undefined && (warning.length === 0 || warning.length > 256)) {
    fail(kind, `version ${name}: deprecationWarning must be 1 to 256 characters`);
  }
  const { storage: _storage, served, deprecated, ...rest } = version;
  return Object.freeze({
    ...rest,
    ...(rest.description === undefined && description !== undefined ? { description } : {}),
    name,
    served: served ?? true,
    storage,
    ...(deprecated || warning !== undefined ? { deprecated: true } : {}),
  });
}

/**
 * Declares a custom kind. The object type is inferred from the schemas: name it with
 * `ObjectOf<typeof Kind>` (or `SpecOf` / `StatusOf` for parts). The result is a `ResourceType` for
 * the storage version; `.versions.<name>` gives one per version. Pass it to
 * `customResourceDefinition()` for the CRD.
 *
 * @example
 * import { Type } from "@sinclair/typebox";
 * import { defineResource, K8s, type ObjectOf } from "kube-operon";
 *
 * export const Widget = defineResource({
 *   group: "example.com",
 *   version: "v1",
 *   kind: "Widget",
 *   plural: "widgets",
 *   shortNames: ["wd"],
 *   scope: "Namespaced",
 *   description: "A Widget runs a fleet of widget servers.",
 *   spec: Type.Object({
 *     replicas: Type.Integer({ minimum: 0, default: 1, description: "Number of servers" }),
 *     size: K8s.Enum(["small", "large"], { default: "small" }),
 *   }),
 *   status: K8s.Status({ readyReplicas: Type.Optional(Type.Integer()) }),
 *   printerColumns: [{ name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" }],
 *   scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.readyReplicas" },
 * });
 * export type Widget = ObjectOf<typeof Widget>;
 * // Widget["spec"] is { replicas: number; size: "small" | "large" }
 *
 * @example
 * // Several versions; exactly one is the storage version.
 * export const Gadget = defineResource({
 *   group: "example.com",
 *   kind: "Gadget",
 *   plural: "gadgets",
 *   scope: "Cluster",
 *   versions: {
 *     v1alpha1: { spec: Type.Object({ size: Type.String() }), deprecated: true },
 *     v1: { spec: Type.Object({ size: Type.Integer() }), storage: true },
 *   },
 * });
 * type GadgetV1alpha1 = ObjectOf<typeof Gadget.versions.v1alpha1>;
 */
export function defineResource<const D extends ResourceDefinition>(
  definition: D & StorageCheck<D>,
): CustomResourceType<VersionObjects<D>[StorageVersionOf<D>], VersionObjects<D>> {
  checkNames(definition);
  const { group, kind, plural } = definition;
  let versions: DeclaredVersion[];
  if ("versions" in definition && definition.versions !== undefined) {
    if ("version" in definition && definition.version !== undefined) {
      fail(kind, "give either version (one version) or versions (several), not both");
    }
    const multi = definition as MultiVersionDefinition;
    const entries = Object.entries(multi.versions);
    if (entries.length === 0) fail(kind, "versions must not be empty");
    const storage = entries.filter(([, version]) => version.storage === true);
    if (storage.length !== 1) {
      fail(
        kind,
        `exactly one version must set storage: true (found ${storage.length === 0 ? "none" : storage.map(([name]) => name).join(", ")})`,
      );
    }
    versions = entries.map(([name, version]) =>
      normalizeVersion(kind, name, version, version.storage === true, multi.description),
    );
  } else {
    const single = definition as SingleVersionDefinition;
    if (typeof single.version !== "string") fail(kind, "give version (one version) or versions");
    if (single.storage === false) fail(kind, "the only version must be the storage version");
    const {
      group: _group,
      kind: _kind,
      plural: _plural,
      singular: _singular,
      listKind: _listKind,
      shortNames: _shortNames,
      categories: _categories,
      scope: _scope,
      version,
      ...versionDefinition
    } = single;
    versions = [normalizeVersion(kind, version, versionDefinition, true, undefined)];
  }
  const names = new Set<string>();
  for (const version of versions) {
    if (names.has(version.name)) fail(kind, `version ${version.name} is declared twice`);
    names.add(version.name);
  }

  const declaration: CustomResourceDeclaration = Object.freeze({
    group,
    names: Object.freeze({
      kind,
      plural,
      singular: definition.singular ?? kind.toLowerCase(),
      listKind: definition.listKind ?? `${kind}List`,
      shortNames: Object.freeze([...(definition.shortNames ?? [])]),
      categories: Object.freeze([...(definition.categories ?? [])]),
    }),
    scope: definition.scope,
    versions: Object.freeze(versions),
  });
  checkLabel(kind, "singular", declaration.names.singular);

  const byVersion: Record<string, CustomResourceType> = {};
  const versionTypes = byVersion;
  for (const version of versions) {
    byVersion[version.name] = Object.freeze({
      apiVersion: `${group}/${version.name}`,
      kind,
      plural,
      namespaced: definition.scope === "Namespaced",
      group,
      version: version.name,
      definition: declaration,
      versions: versionTypes,
    });
  }
  Object.freeze(byVersion);
  const storageVersion = versions.find((version) => version.storage)!;
  return byVersion[storageVersion.name] as unknown as CustomResourceType<
    VersionObjects<D>[StorageVersionOf<D>],
    VersionObjects<D>
  >;
}

/** Whether a `ResourceType` was declared with {@link defineResource}. */
export function isCustomResourceType(type: ResourceType): type is CustomResourceType {
  return typeof (type as Partial<CustomResourceType>).definition === "object";
}
