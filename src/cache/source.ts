/**
 * What the caches need from an API client: a list and a watch. Everything in this folder talks to
 * the API server only through {@link ListWatchClient}, so store, relist and ordering logic can be
 * tested against an in-memory source, and `clientListWatch` (client-source.ts) adapts the real client.
 *
 * @module
 */
import type { KubeList, KubeObject, ObjectMeta, ResourceType } from "../resources/object.ts";

/** Which objects a list or watch covers. */
export interface Selection {
  /** Only this namespace; all namespaces when omitted. */
  namespace?: string;
  /** A label selector in its text form, e.g. `app=web,tier!=cache`. */
  labelSelector?: string;
  /** A field selector in its text form, e.g. `status.phase=Running`. */
  fieldSelector?: string;
  /**
   * Ask for `PartialObjectMetadata` (metadata only) instead of whole objects: the `Accept:
   * application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1` content negotiation.
   */
  metadataOnly?: boolean;
}

/** A list request (one page). */
export interface ListRequest extends Selection {
  /** Page size; no limit when omitted. */
  limit?: number;
  /** The `continue` token of the previous page. */
  continue?: string;
  /** Omitted: a consistent read of the latest state. */
  resourceVersion?: string;
  resourceVersionMatch?: "NotOlderThan" | "Exact";
  signal?: AbortSignal;
}

/** A watch request. */
export interface WatchRequest extends Selection {
  /** Where to resume; `""` with `sendInitialEvents` means "the latest state". */
  resourceVersion?: string;
  resourceVersionMatch?: "NotOlderThan";
  allowWatchBookmarks?: boolean;
  /** Streaming list: current objects first as `ADDED`, then the initial-events-end bookmark. */
  sendInitialEvents?: boolean;
  /** Ask the server to end the watch (cleanly) after this many seconds. */
  timeoutSeconds?: number;
  /** Aborting it must end the stream and release its connection. */
  signal: AbortSignal;
}

/** The object of a `BOOKMARK` event: only the resource version (and annotations) matter. */
export interface BookmarkObject {
  apiVersion?: string;
  kind?: string;
  metadata: Pick<ObjectMeta, "resourceVersion" | "annotations">;
}

/** The `Status` of an `ERROR` event, as far as the caches read it. */
export interface ErrorStatus {
  code?: number;
  reason?: string;
  message?: string;
}

/** One event of a watch. */
export type ListWatchEvent<T extends KubeObject = KubeObject> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T }
  | { type: "BOOKMARK"; object: BookmarkObject }
  | { type: "ERROR"; object: ErrorStatus; error?: unknown };

/**
 * The list and watch operations an informer runs on.
 *
 * Failures are thrown (or, for a watch, may also arrive as `ERROR` events); a 410 Gone must be
 * recognisable by `code: 410` or reason `Gone`/`Expired` on the error or the event's status. A
 * watch stream ends normally when the server closes it and must end (normally or by throwing) soon
 * after its `signal` aborts.
 */
export interface ListWatchClient {
  list<T extends KubeObject>(type: ResourceType<T>, request: ListRequest): Promise<KubeList<T>>;
  watch<T extends KubeObject>(
    type: ResourceType<T>,
    request: WatchRequest,
  ): AsyncIterable<ListWatchEvent<T>> | Promise<AsyncIterable<ListWatchEvent<T>>>;
}

/** The annotation on the bookmark that ends the initial events of a streaming list. */
export const INITIAL_EVENTS_END_ANNOTATION = "k8s.io/initial-events-end";

export type { PartialObjectMetadata } from "../resources/object.ts";
