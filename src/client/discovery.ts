/**
 * Discovery: from `apiVersion` + `kind` to the resource's plural name, scope, verbs and
 * subresources, using the group-version resource lists (`/api/v1`, `/apis/{group}/{version}`)
 * and the group lists (`/api`, `/apis`).
 *
 * Only the group-version a call needs is fetched, then cached. An unknown kind triggers one
 * refetch of its group-version (a CRD installed after start), and the miss is remembered for a
 * short while so a flood of calls for a kind that does not exist costs one request per interval.
 */
import type { ResourceType } from "../resources/object.ts";
import { groupOf, versionOf } from "../resources/object.ts";
import { isNotFound, UnknownKindError } from "./errors.ts";
import { groupVersionPath, type ResourceInfo } from "./paths.ts";
import type { Requester } from "./request.ts";

/** An entry of a group-version's resource list (`metav1.APIResource`). */
export interface ApiResource {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  verbs?: string[];
  shortNames?: string[];
  categories?: string[];
  group?: string;
  version?: string;
}

/** `metav1.APIResourceList`. */
export interface ApiResourceList {
  kind?: string;
  groupVersion: string;
  resources: ApiResource[];
}

/** A served API group and its versions, preferred first. */
export interface ApiGroupInfo {
  /** `""` for the core group. */
  name: string;
  /** Versions served, e.g. `["v1", "v1beta1"]`. */
  versions: string[];
  preferredVersion: string;
}

/** Options of resource discovery (client options). */
export interface DiscoveryOptions {
  /**
   * After a group-version was fetched and a kind was not in it, further lookups of unknown kinds
   * in that group-version fail without asking the server for this long; default 3 s.
   */
  missRetryIntervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface GroupVersionEntry {
  byKind: Map<string, ResourceInfo>;
  byPlural: Map<string, ResourceInfo>;
  /** False when the server does not serve the group-version at all. */
  served: boolean;
  fetchedAt: number;
}

/**
 * Turns an API resource list into resource infos, attaching subresources (`deployments/scale`)
 * to their parents. Exported for tests.
 * @internal
 */
export function resourcesFromList(list: ApiResourceList): ResourceInfo[] {
  const group = groupOf(list.groupVersion);
  const version = versionOf(list.groupVersion);
  const byPlural = new Map<string, ResourceInfo>();
  const subresources: Array<[string, string]> = [];
  for (const r of list.resources ?? []) {
    const slash = r.name.indexOf("/");
    if (slash >= 0) {
      subresources.push([r.name.slice(0, slash), r.name.slice(slash + 1)]);
      continue;
    }
    const info: ResourceInfo = {
      group: r.group ?? group,
      version: r.version ?? version,
      kind: r.kind,
      plural: r.name,
      namespaced: r.namespaced,
      verbs: r.verbs ?? [],
      subresources: [],
    };
    if (r.singularName) info.singular = r.singularName;
    if (r.shortNames?.length) info.shortNames = r.shortNames;
    byPlural.set(r.name, info);
  }
  for (const [parent, sub] of subresources) byPlural.get(parent)?.subresources?.push(sub);
  return [...byPlural.values()];
}

/**
 * Discovery with caching.
 *
 * @example
 * const info = await client.discovery.resource("apps/v1", "Deployment");
 * info.plural;       // "deployments"
 * info.namespaced;   // true
 * info.subresources; // ["scale", "status"]
 */
export class Discovery {
  readonly #requester: Requester;
  readonly #missRetryIntervalMs: number;
  readonly #now: () => number;
  readonly #groupVersions = new Map<string, GroupVersionEntry>();
  readonly #fetching = new Map<string, Promise<GroupVersionEntry>>();
  #groups: Promise<ApiGroupInfo[]> | undefined;

  constructor(requester: Requester, options: DiscoveryOptions = {}) {
    this.#requester = requester;
    this.#missRetryIntervalMs = options.missRetryIntervalMs ?? 3_000;
    this.#now = options.now ?? (() => performance.now());
  }

  #fetch(apiVersion: string, signal?: AbortSignal): Promise<GroupVersionEntry> {
    let pending = this.#fetching.get(apiVersion);
    if (!pending) {
      const path = groupVersionPath(groupOf(apiVersion), versionOf(apiVersion));
      pending = this.#requester
        .json<ApiResourceList>({
          method: "GET",
          path,
          describe: { verb: "discover", path },
          replaySafe: true,
          ...(signal ? { signal } : {}),
        })
        .then(
          (list) => this.#store(apiVersion, resourcesFromList(list), true),
          (err: unknown) => {
            // A group-version the server does not serve is a valid (empty) answer.
            if (isNotFound(err)) return this.#store(apiVersion, [], false);
            throw err;
          },
        )
        .finally(() => this.#fetching.delete(apiVersion));
      this.#fetching.set(apiVersion, pending);
    }
    return pending;
  }

  #store(apiVersion: string, resources: ResourceInfo[], served: boolean): GroupVersionEntry {
    const entry: GroupVersionEntry = {
      byKind: new Map(),
      byPlural: new Map(),
      served,
      fetchedAt: this.#now(),
    };
    for (const info of resources) {
      // The first resource of a kind is the main one (core v1 also lists e.g. `Binding`
      // under another name).
      if (!entry.byKind.has(info.kind)) entry.byKind.set(info.kind, info);
      entry.byPlural.set(info.plural, info);
    }
    this.#groupVersions.set(apiVersion, entry);
    return entry;
  }

  async #lookup(
    apiVersion: string,
    find: (entry: GroupVersionEntry) => ResourceInfo | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ info: ResourceInfo | undefined; entry: GroupVersionEntry }> {
    let entry = this.#groupVersions.get(apiVersion);
    if (entry) {
      const info = find(entry);
      if (info) return { info, entry };
      if (this.#now() - entry.fetchedAt < this.#missRetryIntervalMs)
        return { info: undefined, entry };
    }
    entry = await this.#fetch(apiVersion, signal);
    return { info: find(entry), entry };
  }

  /**
   * The resource serving `kind` in `apiVersion`. Throws {@link UnknownKindError} (a
   * `NotFoundError`) when the server does not serve it.
   */
  async resource(apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceInfo> {
    const { info, entry } = await this.#lookup(apiVersion, (e) => e.byKind.get(kind), signal);
    if (info) return info;
    const path = groupVersionPath(groupOf(apiVersion), versionOf(apiVersion));
    const why = entry.served
      ? `the server serves no kind "${kind}" in ${apiVersion} (known: ${[...entry.byKind.keys()].sort().join(", ") || "none"})`
      : `the server does not serve ${apiVersion}${groupOf(apiVersion) ? " (is the CRD or API service installed?)" : ""}`;
    throw new UnknownKindError({
      request: { verb: "discover", path },
      code: 404,
      detail: why,
      apiVersion,
      kind,
    });
  }

  /** The resource with this plural name in `apiVersion`, e.g. `("apps/v1", "deployments")`. */
  async resourceByPlural(
    apiVersion: string,
    plural: string,
    signal?: AbortSignal,
  ): Promise<ResourceInfo> {
    const { info, entry } = await this.#lookup(apiVersion, (e) => e.byPlural.get(plural), signal);
    if (info) return info;
    const path = groupVersionPath(groupOf(apiVersion), versionOf(apiVersion));
    throw new UnknownKindError({
      request: { verb: "discover", path },
      code: 404,
      detail: entry.served
        ? `the server serves no resource "${plural}" in ${apiVersion}`
        : `the server does not serve ${apiVersion}`,
      apiVersion,
      kind: "",
    });
  }

  /**
   * What the client needs to address `type`: given statically (`plural` and `namespaced` both
   * set) it costs nothing, otherwise it comes from discovery.
   */
  async resourceFor(type: ResourceType, signal?: AbortSignal): Promise<ResourceInfo> {
    if (type.plural !== undefined && type.namespaced !== undefined) {
      return {
        group: groupOf(type.apiVersion),
        version: versionOf(type.apiVersion),
        kind: type.kind,
        plural: type.plural,
        namespaced: type.namespaced,
      };
    }
    return this.resource(type.apiVersion, type.kind, signal);
  }

  /** All resources of a group-version (cached). */
  async resources(apiVersion: string, signal?: AbortSignal): Promise<ResourceInfo[]> {
    const entry = this.#groupVersions.get(apiVersion) ?? (await this.#fetch(apiVersion, signal));
    return [...entry.byPlural.values()];
  }

  /** The served API groups, the core group first (from `/api` and `/apis`, cached). */
  groups(signal?: AbortSignal): Promise<ApiGroupInfo[]> {
    this.#groups ??= this.#fetchGroups(signal).catch((err: unknown) => {
      this.#groups = undefined;
      throw err;
    });
    return this.#groups;
  }

  async #fetchGroups(signal?: AbortSignal): Promise<ApiGroupInfo[]> {
    const get = <T>(path: string) =>
      this.#requester.json<T>({
        method: "GET",
        path,
        describe: { verb: "discover", path },
        replaySafe: true,
        ...(signal ? { signal } : {}),
      });
    const [core, named] = await Promise.all([
      get<{ versions: string[] }>("/api"),
      get<{
        groups: Array<{
          name: string;
          versions: Array<{ version: string }>;
          preferredVersion?: { version: string };
        }>;
      }>("/apis"),
    ]);
    const groups: ApiGroupInfo[] = [
      { name: "", versions: core.versions, preferredVersion: core.versions[0] ?? "v1" },
    ];
    for (const g of named.groups ?? []) {
      const versions = g.versions.map((v) => v.version);
      groups.push({
        name: g.name,
        versions,
        preferredVersion: g.preferredVersion?.version ?? versions[0] ?? "",
      });
    }
    return groups;
  }

  /**
   * Forgets cached discovery, for one group-version (`"apps/v1"`) or everything. The client
   * calls this itself when a request finds that a resource type has gone away.
   */
  invalidate(apiVersion?: string): void {
    if (apiVersion === undefined) {
      this.#groupVersions.clear();
      this.#groups = undefined;
    } else {
      this.#groupVersions.delete(apiVersion);
    }
  }
}
