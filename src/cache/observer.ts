/**
 * Observability of informers: what identifies one (for metric labels and log lines), the hooks it
 * calls as its list/watch loop runs, and the snapshot of counters it reports on demand.
 *
 * @module
 */

/** What an informer watches; the same fields make its key in the shared factory. */
export interface InformerId {
  /** `group/version`, or `v1` for the core group. */
  apiVersion: string;
  kind: string;
  /** Restricted to one namespace; absent for all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Stores `PartialObjectMetadata` instead of whole objects. */
  metadataOnly: boolean;
}

/** A short text form of an informer id, for log lines: `apps/v1 Deployment ns=prod app=web`. */
export function describeInformer(id: InformerId): string {
  let text = `${id.apiVersion} ${id.kind}`;
  if (id.namespace) text += ` ns=${id.namespace}`;
  if (id.labelSelector) text += ` labels=${id.labelSelector}`;
  if (id.fieldSelector) text += ` fields=${id.fieldSelector}`;
  if (id.metadataOnly) text += " metadata-only";
  return text;
}

/** How a full state was obtained. */
export type ListMode = "streaming" | "paginated";

/** Why a watch was (re)started. */
export type RestartReason =
  /** The server ended the stream normally (its `timeoutSeconds`, a rolling API server). */
  | "closed"
  /** 410 Gone: the resource version was compacted away; a relist follows. */
  | "gone"
  /** Nothing arrived, not even a bookmark, for longer than the silence timeout. */
  | "silence"
  /** Any other failure (connection, 5xx, 429, 403, ...). */
  | "error";

/** Reported after each complete full list. */
export interface ListInfo {
  mode: ListMode;
  /** Objects in the list (after the selection). */
  objects: number;
  /** Pages fetched (1 for a streaming list). */
  pages: number;
  durationMs: number;
  resourceVersion: string;
}

/** Reported each time the list/watch loop goes round again. */
export interface RestartInfo {
  reason: RestartReason;
  /** The failure, for `gone` and `error`. */
  error?: unknown;
  /** How long the loop waits before the next attempt (ms). */
  delayMs: number;
  /** Whether the next attempt lists (after 410 or when no resource version is known). */
  relist: boolean;
}

/**
 * Hooks an informer calls as it runs, to feed metrics. Hooks must be quick and must not throw
 * (a throwing hook is ignored).
 */
export interface InformerObserver {
  /** A full list completed and was applied to the store. */
  listed?(id: InformerId, info: ListInfo): void;
  /** The list/watch loop is about to start another attempt. */
  restarted?(id: InformerId, info: RestartInfo): void;
  /** The store first became complete. */
  synced?(id: InformerId, info: { objects: number }): void;
  /** A handler threw or rejected. */
  handlerFailed?(id: InformerId, info: { event: string; key: string; error: unknown }): void;
}

/** A snapshot of an informer's counters. */
export interface InformerStats {
  id: InformerId;
  /** Objects in the store now. */
  objects: number;
  synced: boolean;
  running: boolean;
  /** Full lists completed (initial list included). */
  lists: number;
  /** Watch (re)starts after the first, by reason. */
  restarts: Record<RestartReason, number>;
  /** Wall-clock time of the last complete list (epoch ms), if any. */
  lastSyncTime: number | undefined;
  /** Wall-clock time of the last watch event, bookmarks included (epoch ms), if any. */
  lastEventTime: number | undefined;
  /** The resource version the next watch resumes from. */
  resourceVersion: string | undefined;
  /** How full lists are done now (streaming falls back to paginated when refused). */
  listMode: ListMode;
  handlers: number;
  /** Notifications queued for handlers and not yet delivered. */
  pendingNotifications: number;
}
