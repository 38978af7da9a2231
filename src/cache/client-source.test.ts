/**
 * The adapter from `KubeClient` to the caches: metadata-only requests reach the client (which
 * asks the server for `PartialObjectMetadata`), and whole objects from a server that cannot
 * convert are projected to their metadata.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeList, KubeObject, ResourceType } from "../resources/object.ts";
import { clientListWatch, type ListWatchCapableClient } from "./client-source.ts";

const ConfigMap: ResourceType = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
};

const whole: KubeObject = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "a", namespace: "ns", resourceVersion: "5" },
  data: { big: "x" },
};
const partial: KubeObject = {
  apiVersion: "meta.k8s.io/v1",
  kind: "PartialObjectMetadata",
  metadata: { name: "a", namespace: "ns", resourceVersion: "5" },
};

function fakeClient(answer: KubeObject, seen: unknown[]): ListWatchCapableClient {
  return {
    list: (async (_type: ResourceType, options: unknown) => {
      seen.push(options);
      return {
        apiVersion: answer === partial ? "meta.k8s.io/v1" : "v1",
        kind: answer === partial ? "PartialObjectMetadataList" : "ConfigMapList",
        metadata: { resourceVersion: "5" },
        items: [answer],
      } satisfies KubeList;
    }) as ListWatchCapableClient["list"],
    watch: (async (_type: ResourceType, options: unknown) => {
      seen.push(options);
      return (async function* () {
        yield { type: "ADDED", object: answer };
        yield { type: "BOOKMARK", object: { metadata: { resourceVersion: "6" } } };
      })();
    }) as unknown as ListWatchCapableClient["watch"],
  };
}

describe("clientListWatch", () => {
  test("metadata-only requests ask the client for metadata; its answer is kept as it is", async () => {
    const seen: unknown[] = [];
    const source = clientListWatch(fakeClient(partial, seen));
    const list = await source.list(ConfigMap, { namespace: "ns", metadataOnly: true });
    assert.equal(list.items[0], partial, "no copy when the server already sent metadata");
    assert.equal((seen[0] as { metadataOnly?: boolean }).metadataOnly, true);
    const stream = await source.watch(ConfigMap, {
      namespace: "ns",
      metadataOnly: true,
      signal: new AbortController().signal,
    });
    const events = [];
    for await (const event of stream) events.push(event);
    assert.equal((seen[1] as { metadataOnly?: boolean }).metadataOnly, true);
    assert.equal(events[0]!.type === "ADDED" && events[0]!.object, partial);
    assert.equal(events[1]!.type, "BOOKMARK");
  });

  test("whole objects from a server that cannot convert are projected to their metadata", async () => {
    const source = clientListWatch(fakeClient(whole, []));
    const list = await source.list(ConfigMap, { namespace: "ns", metadataOnly: true });
    assert.equal(list.kind, "PartialObjectMetadataList");
    assert.deepEqual(list.items[0], partial);
    const stream = await source.watch(ConfigMap, {
      namespace: "ns",
      metadataOnly: true,
      signal: new AbortController().signal,
    });
    for await (const event of stream) {
      if (event.type === "ADDED") assert.deepEqual(event.object, partial);
    }
  });

  test("ordinary requests pass whole objects through", async () => {
    const source = clientListWatch(fakeClient(whole, []));
    const list = await source.list(ConfigMap, { namespace: "ns" });
    assert.equal(list.items[0], whole);
  });
});
