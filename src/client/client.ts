/**
 * `KubeClient`: the verbs (get, list, watch, create, apply, patch, update, delete) typed by
 * `ResourceType<T>`, for namespaced and cluster-scoped resources in any group.
 *
 * Namespaces: calls on one object (get, create, update, apply, patch, delete) use
 * `options.namespace`, else the object's `metadata.namespace`, else the connection's namespace
 * (the kubeconfig context's, or the pod's), as kubectl does. Collection calls (list, watch,
 * deleteCollection) cover all namespaces unless `options.namespace` is given, as
 * controller-runtime does. Namespaces are ignored for cluster-scoped resources.
 */
import type {
  KubeList,
  KubeObject,
  ObjectMeta,
  PartialObjectMetadata,
  ResourceType,
} from "../resources/object.ts";
import { Connection, type ConnectionOptions } from "./connection.ts";
import { Discovery, type DiscoveryOptions } from "./discovery.ts";
import { GoneError, isNotFound, type RequestDescription, type Status } from "./errors.ts";
import {
  type ClusterConnection,
  type LoadKubeConfigOptions,
  loadKubeConfig,
} from "./kubeconfig.ts";
import {
  formatSelector,
  metadataAccept,
  type QueryValue,
  type ResourceInfo,
  resourcePath,
  type Selector,
} from "./paths.ts";
import { type ApiRequest, Requester, type RequesterOptions } from "./request.ts";
import { openWatch, type WatchOptions, type WatchStream } from "./watch.ts";

/** Options of {@link KubeClient}. */
export interface ClientOptions extends ConnectionOptions, RequesterOptions, DiscoveryOptions {
  /**
   * Field manager for writes that do not name one. Server-side apply needs a field manager:
   * set it here (usually the operator's name) or on each `apply` call.
   */
  fieldManager?: string;
  /**
   * Make every write a server-side dry run (`dryRun=All`): the server validates, admits and
   * answers with the object it would store, and stores nothing. `operon plan` uses such a client.
   */
  dryRun?: boolean;
}

/** Options every call accepts. */
export interface CallOptions {
  /** Cancels the call (and any retry wait). */
  signal?: AbortSignal;
  /** Deadline of each attempt, overriding the client's. */
  timeoutMs?: number;
}

/** Options of calls on one object. */
export interface ObjectCallOptions extends CallOptions {
  /** Namespace of the object (namespaced resources only). */
  namespace?: string;
}

/** Options of `get`. */
export interface GetOptions extends ObjectCallOptions {
  /** `"0"` allows a possibly stale answer from the server's cache. Opaque otherwise. */
  resourceVersion?: string;
  /** Read a subresource instead, e.g. `status` or `scale`. */
  subresource?: string;
  /**
   * Ask for the object's metadata only (`PartialObjectMetadata`): the server sends no spec,
   * status or data.
   */
  metadataOnly?: boolean;
}

/** Options of `list`. */
export interface ListOptions extends CallOptions {
  /** One namespace; all namespaces when omitted. */
  namespace?: string;
  labelSelector?: Selector;
  fieldSelector?: Selector;
  /** Page size; the response's `metadata.continue` fetches the next page. */
  limit?: number;
  /** Token from the previous page's `metadata.continue`. */
  continue?: string;
  /** Opaque; `"0"` reads from the server's cache. */
  resourceVersion?: string;
  resourceVersionMatch?: "NotOlderThan" | "Exact";
  /**
   * Ask for the objects' metadata only (a `PartialObjectMetadataList`): the server sends no
   * spec, status or data, which saves transfer and decoding on large collections.
   */
  metadataOnly?: boolean;
}

/** Options of `listAll` and `listPages`. */
export interface ListAllOptions extends Omit<ListOptions, "limit" | "continue"> {
  /** Objects per request; default 500 (client-go's pager size). */
  pageSize?: number;
}

/** Field validation of writes (`fieldValidation` query parameter). */
export type FieldValidation = "Strict" | "Warn" | "Ignore";

/** Options of writes. */
export interface WriteOptions extends ObjectCallOptions {
  /** Only validate and admit, do not persist (`dryRun=All`). */
  dryRun?: boolean;
  /** Field manager recorded in `managedFields`; defaults to the client's. */
  fieldManager?: string;
  /** How the server treats unknown or duplicate fields. */
  fieldValidation?: FieldValidation;
}

/** Options of `update`. */
export interface UpdateOptions extends WriteOptions {
  /** Write a subresource instead, e.g. `status`. */
  subresource?: string;
}

/** Options of `apply`. */
export interface ApplyOptions extends WriteOptions {
  /** Take ownership of fields other managers own instead of failing with a conflict. */
  force?: boolean;
  /** Apply to a subresource instead, e.g. `status`. */
  subresource?: string;
}

/** Patch formats. */
export type PatchType = "merge" | "json" | "strategic";

/** One operation of a JSON patch (RFC 6902). */
export type JsonPatchOperation =
  | { op: "add" | "replace" | "test"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "move" | "copy"; from: string; path: string };

/** Options of `patch`. */
export interface PatchOptions extends WriteOptions {
  /** Default: `json` for an array of operations, `merge` otherwise. */
  type?: PatchType;
  /** Patch a subresource instead, e.g. `status`. */
  subresource?: string;
}

/** Options of `delete`. */
export interface DeleteOptions extends ObjectCallOptions {
  /** What happens to dependents: `Background` (default for most kinds), `Foreground`, `Orphan`. */
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  /** Seconds before deletion; 0 deletes now. */
  gracePeriodSeconds?: number;
  /** Delete only if the object still has this uid / resourceVersion (else ConflictError). */
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** Options of `deleteCollection`. */
export interface DeleteCollectionOptions
  extends Omit<DeleteOptions, "namespace" | "preconditions">,
    Pick<ListOptions, "namespace" | "labelSelector" | "fieldSelector"> {}

/** `apiVersion` and `kind` may be left out of a written object: the type supplies them. */
export type ObjectInput<T extends KubeObject> = {
  [K in keyof T as K extends "apiVersion" | "kind" ? never : K]: T[K];
} & { apiVersion?: string; kind?: string };

/** Every field optional, recursively: the shape of an apply configuration. */
export type DeepPartial<T> = T extends readonly (infer U)[]
  ? DeepPartial<U>[]
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/**
 * A server-side apply configuration: only the fields this manager owns, plus the name.
 * Fields left out are released by this manager (and removed when no one else owns them).
 */
export type ApplyObject<T extends KubeObject> = {
  [K in keyof T as K extends "apiVersion" | "kind" | "metadata" ? never : K]?: DeepPartial<T[K]>;
} & {
  apiVersion?: string;
  kind?: string;
  metadata: DeepPartial<ObjectMeta> & { name: string };
};

/** The API server's `/version`. */
export interface ServerVersion {
  major: string;
  minor: string;
  gitVersion: string;
  platform?: string;
  [field: string]: unknown;
}

/** A raw call for paths the verbs do not cover. */
export interface RawRequest extends CallOptions {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  contentType?: string;
}

const patchContentTypes: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

/**
 * The Kubernetes client: typed verbs over one keep-alive connection pool per cluster.
 *
 * @example
 * import { KubeClient, isNotFound } from "./client/index.ts";
 * const ConfigMap = { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true } as const;
 *
 * const client = await KubeClient.fromKubeConfig({ fieldManager: "my-operator" });
 * await client.apply(ConfigMap, { metadata: { name: "settings", namespace: "prod" }, data: { mode: "fast" } });
 * const cm = await client.get(ConfigMap, "settings", { namespace: "prod" });
 * await client.close();
 */
export class KubeClient {
  /** @internal The connection pool. */
  readonly connection: Connection;
  /** @internal Requests with retries, deadlines and error mapping. */
  readonly requester: Requester;
  /** @internal Resource discovery, cached. */
  readonly discovery: Discovery;
  /** Namespace used when a call on a namespaced object names none. */
  readonly namespace: string;
  /** Default field manager for writes. */
  readonly fieldManager: string | undefined;
  /** Whether every write is a server-side dry run (see {@link ClientOptions.dryRun}). */
  readonly dryRun: boolean;

  private constructor(cluster: ClusterConnection, options: ClientOptions = {}) {
    this.connection = new Connection(cluster, options);
    this.requester = new Requester(this.connection, options);
    this.discovery = new Discovery(this.requester, options);
    this.namespace = cluster.namespace;
    this.fieldManager = options.fieldManager;
    this.dryRun = options.dryRun ?? false;
  }

  /**
   * Loads the kubeconfig (see `loadKubeConfig`) and returns a client for it.
   *
   * @example
   * const client = await KubeClient.fromKubeConfig({ kubeconfig: "/tmp/kubeconfig", context: "test" });
   */
  static async fromKubeConfig(
    options: LoadKubeConfigOptions & ClientOptions = {},
  ): Promise<KubeClient> {
    return new KubeClient(await loadKubeConfig(options), options);
  }

  /** @internal A client for a connection resolved elsewhere (tests, impersonation). */
  static forCluster(cluster: ClusterConnection, options: ClientOptions = {}): KubeClient {
    return new KubeClient(cluster, options);
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing

  async #info(type: ResourceType, signal?: AbortSignal): Promise<ResourceInfo> {
    return this.discovery.resourceFor(type, signal);
  }

  #namespace(info: ResourceInfo, explicit?: string, fromObject?: string): string | undefined {
    if (!info.namespaced) return undefined;
    return explicit || fromObject || this.namespace;
  }

  #describe(
    verb: string,
    info: ResourceInfo,
    target: {
      name?: string | undefined;
      namespace?: string | undefined;
      subresource?: string | undefined;
    },
  ): RequestDescription {
    const describe: RequestDescription = { verb, resource: info.plural, group: info.group };
    if (target.name !== undefined) describe.name = target.name;
    if (target.namespace) describe.namespace = target.namespace;
    if (target.subresource) describe.subresource = target.subresource;
    return describe;
  }

  async #call<R>(type: ResourceType, request: ApiRequest): Promise<R> {
    try {
      return await this.requester.json<R>(request);
    } catch (err) {
      // A 404 that names no object means the resource type itself is gone (a deleted CRD):
      // forget its discovery so the next call looks again.
      if (isNotFound(err) && !err.status?.details?.name && type.plural === undefined) {
        this.discovery.invalidate(type.apiVersion);
      }
      throw err;
    }
  }

  /** Where a write of a whole, named object goes: its name, namespace and subresource. */
  #namedTarget(
    verb: string,
    info: ResourceInfo,
    object: { metadata?: { name?: string | undefined; namespace?: string | undefined } },
    options: { namespace?: string; subresource?: string },
  ): { name: string; namespace: string | undefined; subresource: string | undefined } {
    const meta = object.metadata ?? {};
    if (!meta.name) throw new TypeError(`${verb} ${info.plural}: the object has no metadata.name`);
    const namespace = this.#namespace(info, options.namespace, meta.namespace);
    return { name: meta.name, namespace, subresource: options.subresource };
  }

  #fieldManager(options: WriteOptions): string | undefined {
    return options.fieldManager ?? this.fieldManager;
  }

  #writeQuery(
    options: WriteOptions,
    extra: Record<string, QueryValue> = {},
  ): Record<string, QueryValue> {
    return {
      fieldManager: this.#fieldManager(options),
      fieldValidation: options.fieldValidation,
      dryRun: options.dryRun || this.dryRun ? "All" : undefined,
      ...extra,
    };
  }

  #common(options: CallOptions): Pick<ApiRequest, "signal" | "timeoutMs"> {
    const common: Pick<ApiRequest, "signal" | "timeoutMs"> = {};
    if (options.signal) common.signal = options.signal;
    if (options.timeoutMs !== undefined) common.timeoutMs = options.timeoutMs;
    return common;
  }

  #withTypeMeta<O extends { apiVersion?: string; kind?: string }>(
    type: ResourceType,
    object: O,
  ): O {
    if (object.apiVersion && object.kind) return object;
    return {
      ...object,
      apiVersion: object.apiVersion || type.apiVersion,
      kind: object.kind || type.kind,
    };
  }

  #fillListTypeMeta<T extends KubeObject>(type: ResourceType<T>, list: KubeList<T>): KubeList<T> {
    // The server omits apiVersion and kind on the items of built-in lists; callers and caches
    // expect complete objects.
    for (const item of list.items ?? []) {
      if (!item.apiVersion) item.apiVersion = type.apiVersion;
      if (!item.kind) item.kind = type.kind;
    }
    list.items ??= [];
    return list;
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  /**
   * Reads one object.
   *
   * @example
   * const pod = await client.get(Pod, "web-0", { namespace: "prod" });
   * const maybe = await client.get(ConfigMap, "x", { namespace: "ns" }).catch(ignoreNotFound);
   */
  get<T extends KubeObject>(
    type: ResourceType<T>,
    name: string,
    options: GetOptions & { metadataOnly: true },
  ): Promise<PartialObjectMetadata>;
  /**
   * Reads one object (whole; see the overload above for its metadata only).
   *
   * @example
   * const cm = await client.get(ConfigMap, "settings", { namespace: "prod" });
   * const meta = await client.get(ConfigMap, "settings", { namespace: "prod", metadataOnly: true });
   */
  get<T extends KubeObject>(type: ResourceType<T>, name: string, options?: GetOptions): Promise<T>;
  async get<T extends KubeObject>(
    type: ResourceType<T>,
    name: string,
    options: GetOptions = {},
  ): Promise<T> {
    const info = await this.#info(type, options.signal);
    const namespace = this.#namespace(info, options.namespace);
    const target = { name, namespace, subresource: options.subresource };
    return this.#call<T>(type, {
      method: "GET",
      path: resourcePath(info, target),
      ...(options.metadataOnly ? { accept: metadataAccept.object } : {}),
      query: { resourceVersion: options.resourceVersion },
      describe: this.#describe("get", info, target),
      replaySafe: true,
      ...this.#common(options),
    });
  }

  /** Reads the `status` subresource (for kinds whose status is served separately). */
  getStatus<T extends KubeObject>(
    type: ResourceType<T>,
    name: string,
    options: Omit<GetOptions, "subresource"> = {},
  ): Promise<T> {
    return this.get(type, name, { ...options, subresource: "status" });
  }

  /**
   * Lists one page (or everything, without `limit`).
   *
   * @example
   * const page = await client.list(ConfigMap, { namespace: "ns", labelSelector: { app: "web" }, limit: 500 });
   * const next = await client.list(ConfigMap, { namespace: "ns", limit: 500, continue: page.metadata.continue });
   */
  list<T extends KubeObject>(
    type: ResourceType<T>,
    options: ListOptions & { metadataOnly: true },
  ): Promise<KubeList<PartialObjectMetadata>>;
  /**
   * Lists one page of whole objects (see the overload above for metadata only).
   *
   * @example
   * const all = await client.list(ConfigMap, { namespace: "ns" });
   * const names = await client.list(ConfigMap, { namespace: "ns", metadataOnly: true });
   */
  list<T extends KubeObject>(type: ResourceType<T>, options?: ListOptions): Promise<KubeList<T>>;
  async list<T extends KubeObject>(
    type: ResourceType<T>,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    const info = await this.#info(type, options.signal);
    const namespace = info.namespaced ? options.namespace : undefined;
    const target = { namespace };
    const list = await this.#call<KubeList<T>>(type, {
      method: "GET",
      path: resourcePath(info, target),
      ...(options.metadataOnly ? { accept: metadataAccept.list } : {}),
      query: {
        labelSelector:
          options.labelSelector === undefined
            ? undefined
            : formatSelector(options.labelSelector) || undefined,
        fieldSelector:
          options.fieldSelector === undefined
            ? undefined
            : formatSelector(options.fieldSelector) || undefined,
        limit: options.limit,
        continue: options.continue,
        resourceVersion: options.resourceVersion,
        resourceVersionMatch: options.resourceVersionMatch,
      },
      describe: this.#describe("list", info, target),
      replaySafe: true,
      ...this.#common(options),
    });
    return this.#fillListTypeMeta(type, list);
  }

  /**
   * Lists page by page (`limit` + `continue`), yielding each page. If the continue token
   * expires midway (410), the remaining pages cannot be consistent, so it throws a `GoneError`;
   * `listAll` handles that by listing again in one request.
   */
  async *listPages<T extends KubeObject>(
    type: ResourceType<T>,
    options: ListAllOptions = {},
  ): AsyncGenerator<KubeList<T>> {
    const { pageSize = 500, ...rest } = options;
    let continueToken: string | undefined;
    let first = true;
    do {
      const page: KubeList<T> = await this.list(type, {
        ...rest,
        limit: pageSize,
        ...(continueToken ? { continue: continueToken } : {}),
        // The version applies to the first page only; the token carries it afterwards.
        ...(first ? {} : { resourceVersion: undefined, resourceVersionMatch: undefined }),
      });
      first = false;
      continueToken = page.metadata?.continue || undefined;
      yield page;
    } while (continueToken);
  }

  /**
   * Lists every object, a page at a time, into one list whose `metadata.resourceVersion` is the
   * snapshot's (ready for a watch to continue from).
   *
   * @example
   * const all = await client.listAll(ConfigMap, { namespace: "ns" });
   * const watch = await client.watch(ConfigMap, { namespace: "ns", resourceVersion: all.metadata.resourceVersion });
   */
  async listAll<T extends KubeObject>(
    type: ResourceType<T>,
    options: ListAllOptions = {},
  ): Promise<KubeList<T>> {
    let result: KubeList<T> | undefined;
    try {
      for await (const page of this.listPages(type, options)) {
        if (!result) {
          result = { ...page, metadata: { ...page.metadata }, items: [...page.items] };
        } else {
          for (const item of page.items) result.items.push(item);
        }
      }
    } catch (err) {
      // An expired continue token: fall back to one unpaginated list, as client-go's pager does.
      if (!(err instanceof GoneError) || !result) throw err;
      const { pageSize: _pageSize, ...rest } = options;
      return this.list(type, rest);
    }
    const list = result!;
    delete list.metadata.continue;
    delete list.metadata.remainingItemCount;
    return list;
  }

  /**
   * Watches a collection (or one object with `name`). Resolves once the server accepted the
   * watch; iterate the result for events. See {@link WatchStream}.
   *
   * @example
   * const list = await client.listAll(ConfigMap, { namespace: "ns" });
   * const watch = await client.watch(ConfigMap, { namespace: "ns", resourceVersion: list.metadata.resourceVersion, signal });
   * for await (const event of watch) {
   *   if (event.type !== "BOOKMARK") console.log(event.type, event.object.metadata.name);
   * }
   */
  watch<T extends KubeObject>(
    type: ResourceType<T>,
    options: WatchOptions & { metadataOnly: true },
  ): Promise<WatchStream<PartialObjectMetadata>>;
  /**
   * Watches whole objects (see the overload above for metadata only).
   *
   * @example
   * const watch = await client.watch(ConfigMap, { namespace: "ns", metadataOnly: true, signal });
   * for await (const event of watch) if (event.type === "ADDED") console.log(event.object.kind); // PartialObjectMetadata
   */
  watch<T extends KubeObject>(
    type: ResourceType<T>,
    options?: WatchOptions,
  ): Promise<WatchStream<T>>;
  async watch<T extends KubeObject>(
    type: ResourceType<T>,
    options: WatchOptions = {},
  ): Promise<WatchStream<T>> {
    const info = await this.#info(type, options.signal);
    const namespace = info.namespaced ? options.namespace : undefined;
    const target = { namespace };
    try {
      return await openWatch<T>(
        this.requester,
        { path: resourcePath(info, target), describe: this.#describe("watch", info, target) },
        options,
      );
    } catch (err) {
      if (isNotFound(err) && !err.status?.details?.name && type.plural === undefined) {
        this.discovery.invalidate(type.apiVersion);
      }
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  /**
   * Creates an object (`metadata.name` or `metadata.generateName` required).
   *
   * @example
   * const cm = await client.create(ConfigMap, { metadata: { name: "a", namespace: "ns" }, data: { k: "v" } });
   */
  async create<T extends KubeObject>(
    type: ResourceType<T>,
    object: ObjectInput<T>,
    options: WriteOptions = {},
  ): Promise<T> {
    const info = await this.#info(type, options.signal);
    const meta = (object as { metadata?: ObjectMeta }).metadata ?? {};
    const namespace = this.#namespace(info, options.namespace, meta.namespace);
    const describe = this.#describe("create", info, {
      name: meta.name ?? (meta.generateName ? `${meta.generateName}*` : undefined),
      namespace,
    });
    return this.#call<T>(type, {
      method: "POST",
      path: resourcePath(info, { namespace }),
      query: this.#writeQuery(options),
      body: this.#withTypeMeta(type, object),
      describe,
      replaySafe: false,
      ...this.#common(options),
    });
  }

  /**
   * Replaces an object (PUT). With `metadata.resourceVersion` set, the update fails with a
   * `ConflictError` if the object changed since it was read (optimistic concurrency).
   *
   * @example
   * const cm = await client.get(ConfigMap, "a", { namespace: "ns" });
   * cm.data = { k: "new" };
   * await client.update(ConfigMap, cm); // ConflictError if someone else wrote in between
   */
  async update<T extends KubeObject>(
    type: ResourceType<T>,
    object: ObjectInput<T>,
    options: UpdateOptions = {},
  ): Promise<T> {
    const info = await this.#info(type, options.signal);
    const target = this.#namedTarget("update", info, object, options);
    return this.#call<T>(type, {
      method: "PUT",
      path: resourcePath(info, target),
      query: this.#writeQuery(options),
      body: this.#withTypeMeta(type, object),
      describe: this.#describe("update", info, target),
      replaySafe: false,
      ...this.#common(options),
    });
  }

  /** Replaces the `status` subresource. */
  updateStatus<T extends KubeObject>(
    type: ResourceType<T>,
    object: ObjectInput<T>,
    options: Omit<UpdateOptions, "subresource"> = {},
  ): Promise<T> {
    return this.update(type, object, { ...options, subresource: "status" });
  }

  /**
   * Server-side apply: makes the fields in `object` owned by `fieldManager` and set as given;
   * creates the object if missing. Fails with a `ConflictError` when another manager owns a
   * field with a different value, unless `force`.
   *
   * @example
   * await client.apply(ConfigMap,
   *   { metadata: { name: "settings", namespace: "prod" }, data: { mode: "fast" } },
   *   { fieldManager: "my-operator", force: true });
   */
  async apply<T extends KubeObject>(
    type: ResourceType<T>,
    object: ApplyObject<T>,
    options: ApplyOptions = {},
  ): Promise<T> {
    const info = await this.#info(type, options.signal);
    const target = this.#namedTarget("apply", info, object, options);
    const fieldManager = this.#fieldManager(options);
    if (!fieldManager) {
      throw new TypeError(
        `apply ${info.plural} "${target.name}": server-side apply needs a field manager; pass fieldManager in the call or the client options`,
      );
    }
    return this.#call<T>(type, {
      method: "PATCH",
      path: resourcePath(info, target),
      query: this.#writeQuery(options, { force: options.force ? "true" : undefined }),
      // JSON is YAML, so the object goes as JSON under the apply content type.
      body: JSON.stringify(this.#withTypeMeta(type, object)),
      contentType: "application/apply-patch+yaml",
      describe: this.#describe("apply", info, target),
      // Applying the same configuration twice has the same result as once.
      replaySafe: true,
      ...this.#common(options),
    });
  }

  /** Server-side apply to the `status` subresource. */
  applyStatus<T extends KubeObject>(
    type: ResourceType<T>,
    object: ApplyObject<T>,
    options: Omit<ApplyOptions, "subresource"> = {},
  ): Promise<T> {
    return this.apply(type, object, { ...options, subresource: "status" });
  }

  /**
   * Patches an object: a JSON merge patch (an object), a JSON patch (an array of operations) or
   * a strategic merge patch (`type: "strategic"`, built-in kinds only).
   *
   * @example
   * await client.patch(ConfigMap, "a", { data: { k: "v" } }, { namespace: "ns" });
   * await client.patch(ConfigMap, "a", [{ op: "remove", path: "/data/k" }], { namespace: "ns" });
   */
  async patch<T extends KubeObject>(
    type: ResourceType<T>,
    name: string,
    patch: Record<string, unknown> | JsonPatchOperation[],
    options: PatchOptions = {},
  ): Promise<T> {
    const info = await this.#info(type, options.signal);
    const namespace = this.#namespace(info, options.namespace);
    const target = { name, namespace, subresource: options.subresource };
    const patchType = options.type ?? (Array.isArray(patch) ? "json" : "merge");
    return this.#call<T>(type, {
      method: "PATCH",
      path: resourcePath(info, target),
      query: this.#writeQuery(options),
      body: JSON.stringify(patch),
      contentType: patchContentTypes[patchType],
      describe: this.#describe("patch", info, target),
      replaySafe: false,
      ...this.#common(options),
    });
  }

  /** Patches the `status` subresource. */
  patchStatus<T extends KubeObject>(
    type: ResourceType<T>,
    name: string,
    patch: Record<string, unknown> | JsonPatchOperation[],
    options: Omit<PatchOptions, "subresource"> = {},
  ): Promise<T> {
    return this.patch(type, name, patch, { ...options, subresource: "status" });
  }

  /**
   * Deletes an object. Resolves with the object as the server last saw it (still present when
   * finalizers or a grace period delay deletion), or a `Status` for kinds that answer with one.
   *
   * @example
   * await client.delete(ConfigMap, "a", { namespace: "ns", preconditions: { uid } });
   * await client.delete(ConfigMap, "maybe", { namespace: "ns" }).catch(ignoreNotFound);
   */
  async delete<T extends KubeObject>(
    type: ResourceType<T>,
    name: string,
    options: DeleteOptions = {},
  ): Promise<T | Status> {
    const info = await this.#info(type, options.signal);
    const namespace = this.#namespace(info, options.namespace);
    const target = { name, namespace };
    return this.#call<T | Status>(type, {
      method: "DELETE",
      path: resourcePath(info, target),
      body: deleteOptionsBody({ ...options, dryRun: options.dryRun || this.dryRun }),
      describe: this.#describe("delete", info, target),
      replaySafe: false,
      ...this.#common(options),
    });
  }

  /** Deletes every object matching the selectors (in one namespace, or all). */
  async deleteCollection<T extends KubeObject>(
    type: ResourceType<T>,
    options: DeleteCollectionOptions = {},
  ): Promise<KubeList<T> | Status> {
    const info = await this.#info(type, options.signal);
    const namespace = info.namespaced ? options.namespace : undefined;
    const target = { namespace };
    return this.#call<KubeList<T> | Status>(type, {
      method: "DELETE",
      path: resourcePath(info, target),
      query: {
        labelSelector:
          options.labelSelector === undefined
            ? undefined
            : formatSelector(options.labelSelector) || undefined,
        fieldSelector:
          options.fieldSelector === undefined
            ? undefined
            : formatSelector(options.fieldSelector) || undefined,
      },
      body: deleteOptionsBody({ ...options, dryRun: options.dryRun || this.dryRun }),
      describe: this.#describe("deletecollection", info, target),
      replaySafe: false,
      ...this.#common(options),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Other

  /** The server's version (`/version`). */
  serverVersion(options: CallOptions = {}): Promise<ServerVersion> {
    return this.requester.json<ServerVersion>({
      method: "GET",
      path: "/version",
      describe: { verb: "get", path: "/version" },
      replaySafe: true,
      ...this.#common(options),
    });
  }

  /**
   * A call to any path, with the client's retries, errors and metrics; the JSON response.
   *
   * @example
   * const healthz = await client.raw<string>({ method: "GET", path: "/readyz" });
   */
  raw<R = unknown>(request: RawRequest): Promise<R> {
    const apiRequest: ApiRequest = {
      method: request.method,
      path: request.path,
      describe: { verb: request.method.toLowerCase(), path: request.path },
      replaySafe: request.method === "GET",
      ...this.#common(request),
    };
    if (request.query) apiRequest.query = request.query;
    if (request.body !== undefined) apiRequest.body = request.body;
    if (request.contentType) apiRequest.contentType = request.contentType;
    return this.requester.json<R>(apiRequest);
  }

  /** Waits for running requests and watches to end, then closes the connection pool. */
  close(): Promise<void> {
    return this.connection.close();
  }

  /** Aborts running requests and watches and closes the connection pool now. */
  destroy(): Promise<void> {
    return this.connection.destroy();
  }
}

function deleteOptionsBody(options: DeleteOptions): Record<string, unknown> {
  const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
  if (options.propagationPolicy) body.propagationPolicy = options.propagationPolicy;
  if (options.gracePeriodSeconds !== undefined)
    body.gracePeriodSeconds = options.gracePeriodSeconds;
  if (options.preconditions) body.preconditions = { ...options.preconditions };
  if (options.dryRun) body.dryRun = ["All"];
  return body;
}
