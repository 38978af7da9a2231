/**
 * The adapter from the real client (`KubeClient`) to {@link ListWatchClient}.
 *
 * @module
 */
import type { KubeClient } from "../client/client.ts";
import type { KubeList, KubeObject } from "../resources/object.ts";
import type { ListWatchClient, ListWatchEvent, PartialObjectMetadata } from "./source.ts";

/** The part of `KubeClient` the caches use. */
export type ListWatchCapableClient = Pick<KubeClient, "list" | "watch">;

/**
 * Lists and watches through a `KubeClient`.
 *
 * Metadata-only requests ask the server for `PartialObjectMetadata` (`Accept:
 * application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1`), so only metadata crosses the
 * wire. A server that cannot convert answers with whole objects; those are projected to their
 * metadata here, so the cache holds metadata only either way.
 *
 * @example
 * const client = await KubeClient.fromKubeConfig();
 * const factory = new InformerFactory({ client: clientListWatch(client) });
 */
export function clientListWatch(client: ListWatchCapableClient): ListWatchClient {
  return {
    async list<T extends KubeObject>(
      type: Parameters<ListWatchClient["list"]>[0],
      request: Parameters<ListWatchClient["list"]>[1],
    ): Promise<KubeList<T>> {
      const list = await client.list(type, request);
      return (request.metadataOnly ? metadataList(list) : list) as KubeList<T>;
    },
    async watch<T extends KubeObject>(
      type: Parameters<ListWatchClient["watch"]>[0],
      request: Parameters<ListWatchClient["watch"]>[1],
    ): Promise<AsyncIterable<ListWatchEvent<T>>> {
      const stream = await client.watch(type, request);
      return (request.metadataOnly ? metadataEvents(stream) : stream) as AsyncIterable<
        ListWatchEvent<T>
      >;
    },
  };
}

/** The `PartialObjectMetadata` form of an object (itself when it already is one). */
export function toPartialObjectMetadata(object: KubeObject): PartialObjectMetadata {
  if (object.kind === "PartialObjectMetadata" && object.apiVersion === "meta.k8s.io/v1") {
    return object as PartialObjectMetadata;
  }
  return { apiVersion: "meta.k8s.io/v1", kind: "PartialObjectMetadata", metadata: object.metadata };
}

function metadataList(list: KubeList): KubeList<PartialObjectMetadata> {
  if (list.kind === "PartialObjectMetadataList" && list.items.every(isPartial)) {
    return list as KubeList<PartialObjectMetadata>;
  }
  return {
    apiVersion: "meta.k8s.io/v1",
    kind: "PartialObjectMetadataList",
    metadata: list.metadata,
    items: list.items.map(toPartialObjectMetadata),
  };
}

function isPartial(object: KubeObject): boolean {
  return object.kind === "PartialObjectMetadata" && object.apiVersion === "meta.k8s.io/v1";
}

/**
 * Projects a stream's objects to metadata (when the server sent whole objects). Closing the
 * projection (`return()`) closes the underlying stream too, so an abandoned watch still
 * releases its connection.
 */
function metadataEvents(
  stream: AsyncIterable<ListWatchEvent>,
): AsyncIterable<ListWatchEvent<PartialObjectMetadata>> {
  return {
    [Symbol.asyncIterator]() {
      const inner = stream[Symbol.asyncIterator]();
      return {
        async next() {
          const result = await inner.next();
          if (result.done) return result;
          const event = result.value;
          if (
            (event.type === "ADDED" || event.type === "MODIFIED" || event.type === "DELETED") &&
            !isPartial(event.object)
          ) {
            return {
              done: false,
              value: { type: event.type, object: toPartialObjectMetadata(event.object) },
            };
          }
          return { done: false, value: event as ListWatchEvent<PartialObjectMetadata> };
        },
        async return() {
          await inner.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** Another name of {@link clientListWatch}. */
export const clientSource = clientListWatch;
