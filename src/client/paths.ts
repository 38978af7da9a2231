/**
 * REST paths and query strings: where each verb goes for a resource, for both scopes and for the
 * core group (`/api/v1`) and named groups (`/apis/{group}/{version}`). Pure functions, no I/O.
 */

import type { LabelSelector } from "../resources/meta.ts";

/** What the client knows about a resource type: enough to build its URLs. */
export interface ResourceInfo {
  /** API group, `""` for the core group. */
  group: string;
  version: string;
  kind: string;
  /** Plural resource name used in URLs, e.g. `deployments`. */
  plural: string;
  namespaced: boolean;
  /** Verbs the server supports, when known from discovery. */
  verbs?: string[];
  /** Subresources the server serves, when known from discovery, e.g. `["status", "scale"]`. */
  subresources?: string[];
  singular?: string;
  shortNames?: string[];
}

/** `/api/v1` for the core group, `/apis/{group}/{version}` otherwise. */
export function groupVersionPath(group: string, version: string): string {
  return group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
}

/** Where a request points within a resource type. */
export interface ResourceTarget {
  /** Ignored for cluster-scoped resources; omitted on a namespaced list or watch means all namespaces. */
  namespace?: string | undefined;
  /** Object name; omitted for collection requests (list, watch, create, deletecollection). */
  name?: string | undefined;
  /** Subresource, e.g. `status`; needs `name`. */
  subresource?: string | undefined;
}

/**
 * The path for a resource request.
 *
 * @example
 * resourcePath({ group: "apps", version: "v1", plural: "deployments", namespaced: true }, { namespace: "prod", name: "web" })
 * // "/apis/apps/v1/namespaces/prod/deployments/web"
 * resourcePath({ group: "", version: "v1", plural: "nodes", namespaced: false }, { name: "n1", subresource: "status" })
 * // "/api/v1/nodes/n1/status"
 */
export function resourcePath(
  resource: Pick<ResourceInfo, "group" | "version" | "plural" | "namespaced">,
  target: ResourceTarget = {},
): string {
  let path = groupVersionPath(resource.group, resource.version);
  if (resource.namespaced && target.namespace) {
    path += `/namespaces/${segment(target.namespace, "namespace")}`;
  }
  path += `/${resource.plural}`;
  if (target.name !== undefined) {
    if (resource.namespaced && !target.namespace) {
      throw new TypeError(
        `${resource.plural}${resource.group ? `.${resource.group}` : ""} "${target.name}" is namespaced: a namespace is required`,
      );
    }
    path += `/${segment(target.name, "name")}`;
    if (target.subresource) path += `/${target.subresource}`;
  } else if (target.subresource) {
    throw new TypeError(`subresource "${target.subresource}" needs an object name`);
  }
  return path;
}

function segment(value: string, what: string): string {
  // "." and ".." would be resolved away by URL normalisation and address another path.
  if (value === "" || value === "." || value === "..") {
    throw new TypeError(`invalid ${what} ${JSON.stringify(value)}`);
  }
  return encodeURIComponent(value);
}

/** A query parameter value; `undefined` and `false`-like omissions are the caller's choice. */
export type QueryValue = string | number | boolean | undefined | readonly string[];

/**
 * Encodes query parameters, skipping `undefined`; arrays repeat the key.
 *
 * @example
 * queryString({ labelSelector: "app=web", limit: 500, continue: undefined }) // "?labelSelector=app%3Dweb&limit=500"
 */
export function queryString(params: Record<string, QueryValue> | undefined): string {
  if (!params) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values)
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

/**
 * A selector as accepted by list and watch: the string form (`app=web,tier!=db`), a map of
 * required labels, or a `metav1.LabelSelector`.
 */
export type Selector = string | Record<string, string> | LabelSelector;

function isLabelSelector(value: object): value is LabelSelector {
  const v = value as Record<string, unknown>;
  // Label values are strings, so an object or array under these keys means the structured form.
  return (
    (typeof v.matchLabels === "object" && v.matchLabels !== null) ||
    Array.isArray(v.matchExpressions)
  );
}

/**
 * The string form of a selector.
 *
 * @example
 * formatSelector({ app: "web" }) // "app=web"
 * formatSelector({ matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }] }) // "tier in (a,b)"
 */
export function formatSelector(selector: Selector): string {
  if (typeof selector === "string") return selector;
  if (isLabelSelector(selector)) {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
      parts.push(`${key}=${value}`);
    }
    for (const req of selector.matchExpressions ?? []) {
      const values = [...(req.values ?? [])].sort().join(",");
      switch (req.operator) {
        case "In":
          parts.push(`${req.key} in (${values})`);
          break;
        case "NotIn":
          parts.push(`${req.key} notin (${values})`);
          break;
        case "Exists":
          parts.push(req.key);
          break;
        case "DoesNotExist":
          parts.push(`!${req.key}`);
          break;
        default:
          throw new TypeError(`unknown label selector operator ${JSON.stringify(req.operator)}`);
      }
    }
    return parts.join(",");
  }
  return Object.entries(selector)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
}

/**
 * `Accept` headers that ask the API server for `PartialObjectMetadata` (metadata only) instead
 * of whole objects, as client-go's metadata client does. The trailing `application/json` lets a
 * server that cannot convert (an aggregated API of its own) answer with whole objects instead of
 * 406; callers project those themselves.
 */
export const metadataAccept = {
  /** One object (get) and watch events. */
  object: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
  /** A list. */
  list: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
} as const;
