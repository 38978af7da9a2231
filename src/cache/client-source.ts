/**
 * The informers' list/watch source backed by Operon's client: the one place the cache layer meets
 * the HTTP client, so the cache's own logic stays testable with an in-memory source.
 */
import type { KubeClient } from "../client/client.ts";
import type { KubeList, KubeObject, ResourceType } from "../resources/object.ts";
import type { ListRequest, ListWatchClient, ListWatchEvent, WatchRequest } from "./source.ts";

function metadataOnlyUnsupported(): never {
  throw new Error("metadata-only informers need the client's PartialObjectMetadata support");
}

/** A {@link ListWatchClient} that lists and watches through `client`. */
export function clientListWatch(client: KubeClient): ListWatchClient {
  return {
    async list<T extends KubeObject>(
      type: ResourceType<T>,
      request: ListRequest,
    ): Promise<KubeList<T>> {
      if (request.metadataOnly) metadataOnlyUnsupported();
      return client.list(type, {
        ...(request.namespace ? { namespace: request.namespace } : {}),
        ...(request.labelSelector ? { labelSelector: request.labelSelector } : {}),
        ...(request.fieldSelector ? { fieldSelector: request.fieldSelector } : {}),
        ...(request.limit !== undefined ? { limit: request.limit } : {}),
        ...(request.continue ? { continue: request.continue } : {}),
        ...(request.resourceVersion !== undefined
          ? { resourceVersion: request.resourceVersion }
          : {}),
        ...(request.resourceVersionMatch
          ? { resourceVersionMatch: request.resourceVersionMatch }
          : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    },
    async watch<T extends KubeObject>(
      type: ResourceType<T>,
      request: WatchRequest,
    ): Promise<AsyncIterable<ListWatchEvent<T>>> {
      if (request.metadataOnly) metadataOnlyUnsupported();
      const stream = await client.watch(type, {
        ...(request.namespace ? { namespace: request.namespace } : {}),
        ...(request.labelSelector ? { labelSelector: request.labelSelector } : {}),
        ...(request.fieldSelector ? { fieldSelector: request.fieldSelector } : {}),
        ...(request.resourceVersion !== undefined
          ? { resourceVersion: request.resourceVersion }
          : {}),
        ...(request.resourceVersionMatch
          ? { resourceVersionMatch: request.resourceVersionMatch }
          : {}),
        allowWatchBookmarks: request.allowWatchBookmarks ?? true,
        ...(request.sendInitialEvents ? { sendInitialEvents: true } : {}),
        ...(request.timeoutSeconds !== undefined ? { timeoutSeconds: request.timeoutSeconds } : {}),
        signal: request.signal,
        errorEvents: "yield",
      });
      return stream as AsyncIterable<ListWatchEvent<T>>;
    },
  };
}
