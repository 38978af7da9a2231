/**
 * Informers on a private control plane without the API server's watch cache: watches are served
 * by etcd directly, so a compaction alone expires resumed watches (410), and a watch on a quiet
 * selection gets nothing at all, not even bookmarks.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import { type ControlPlane, startControlPlane } from "../testkit/index.ts";
import { clientListWatch } from "./client-source.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import type { RestartInfo } from "./observer.ts";
import type { ListWatchClient, ListWatchEvent } from "./source.ts";

interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
}
const ConfigMap: ResourceType<ConfigMapObject> = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
};

let plane: ControlPlane;
let client: KubeClient;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  plane = await startControlPlane({ watchCache: false, nodes: 0, controllerManager: false });
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "operon-cache-test",
  });
});

after(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  await client?.close();
  await plane?.stop();
});

async function waitUntil(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function versions(objects: Iterable<KubeObject>): Map<string, string | undefined> {
  return new Map([...objects].map((o) => [objectKey(o), o.metadata.resourceVersion]));
}

function sameVersions(
  a: Map<string, string | undefined>,
  b: Map<string, string | undefined>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [key, rv] of a) if (b.get(key) !== rv) return false;
  return true;
}

/**
 * Wraps a source: counts what watch streams deliver, and lets a test hold watches back
 * (`pause()` ends the open streams; new ones wait until `resume()`). The server's answers are
 * untouched; only timing changes.
 */
function instrumented(inner: ListWatchClient) {
  let gate: Promise<void> | undefined;
  let open = () => {};
  const live = new Set<AbortController>();
  const counts = { watches: 0, events: 0 };
  const source: ListWatchClient = {
    list: (type, request) => inner.list(type, request),
    async watch<T extends KubeObject>(
      type: ResourceType<T>,
      request: Parameters<ListWatchClient["watch"]>[1],
    ) {
      while (gate) await gate;
      const controller = new AbortController();
      live.add(controller);
      request.signal.addEventListener("abort", () => live.delete(controller), { once: true });
      const stream = await inner.watch(type, {
        ...request,
        signal: AbortSignal.any([request.signal, controller.signal]),
      });
      counts.watches++;
      return {
        [Symbol.asyncIterator]() {
          const iterator = stream[Symbol.asyncIterator]();
          return {
            async next(): Promise<IteratorResult<ListWatchEvent<T>>> {
              const result = await iterator.next();
              if (!result.done) counts.events++;
              return result;
            },
            async return(): Promise<IteratorResult<ListWatchEvent<T>>> {
              await iterator.return?.();
              return { done: true, value: undefined };
            },
          };
        },
      };
    },
  };
  return {
    source,
    counts,
    pause() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
      for (const controller of live) controller.abort();
      live.clear();
    },
    resume() {
      gate = undefined;
      open();
    },
  };
}

async function startInformer(
  options: Omit<InformerOptions<ConfigMapObject>, "client" | "type">,
): Promise<{ informer: Informer<ConfigMapObject>; control: ReturnType<typeof instrumented> }> {
  const own = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
  const control = instrumented(clientListWatch(own));
  const informer = new Informer<ConfigMapObject>({
    client: control.source,
    type: ConfigMap,
    ...options,
  });
  cleanup.push(async () => {
    await informer.stop();
    await own.close();
  });
  informer.start();
  return { informer, control };
}

describe("informers on etcd-served watches", () => {
  test("streaming lists are served from etcd too", async () => {
    const namespace = await plane.createNamespace("cache-nocache");
    await client.create(ConfigMap, { metadata: { name: "one", namespace } });
    const { informer } = await startInformer({ namespace, streamingList: true });
    await informer.waitForSync();
    assert.equal(informer.store.size, 1);
    assert.equal(informer.stats().listMode, "streaming");
  });

  test("410 after an etcd compaction relists, emitting deletes, updates and adds only for what changed", async () => {
    const namespace = await plane.createNamespace("cache-compact");
    for (const name of ["kept", "changed", "vanished"]) {
      await client.create(ConfigMap, { metadata: { name, namespace }, data: { v: "1" } });
    }
    const restarts: RestartInfo[] = [];
    const { informer, control } = await startInformer({
      namespace,
      observer: { restarted: (_id, info) => restarts.push(info) },
    });
    const events: string[] = [];
    const kept = () => informer.store.get(`${namespace}/kept`);
    informer.addHandler({
      add: (o) => {
        events.push(`add ${o.metadata.name}`);
      },
      update: (_old, o) => {
        events.push(`update ${o.metadata.name}`);
      },
      delete: (o, info) => {
        events.push(`delete ${o.metadata.name}${info.finalStateUnknown ? " unknown" : ""}`);
      },
    });
    await informer.waitForSync();
    const keptBefore = kept();
    events.length = 0;

    control.pause();
    await client.patch(ConfigMap, "changed", { data: { v: "2" } }, { namespace });
    await client.delete(ConfigMap, "vanished", { namespace });
    await client.create(ConfigMap, { metadata: { name: "new", namespace } });
    await plane.compactEtcd();
    control.resume();

    await waitUntil("the relist", () => informer.stats().lists >= 2);
    const expected = versions((await client.listAll(ConfigMap, { namespace })).items);
    await waitUntil("the store to equal the server", () =>
      sameVersions(versions(informer.store.list()), expected),
    );
    assert.deepEqual(events.sort(), ["add new", "delete vanished unknown", "update changed"]);
    assert.ok(restarts.some((r) => r.reason === "gone" && r.relist));
    assert.equal(kept(), keptBefore, "the unchanged object was left as it was");
  });

  test("a server watch that sends nothing is detected by its silence and restarted", async () => {
    const namespace = await plane.createNamespace("cache-quiet");
    const labelSelector = "cache-test=quiet";
    const { informer, control } = await startInformer({
      namespace,
      labelSelector,
      // A paginated list, so the streams carry not even the streaming list's end bookmark.
      streamingList: false,
      silenceTimeoutMs: 1500,
      backoff: { initialMs: 10, maxMs: 100 },
    });
    const seen: string[] = [];
    informer.addHandler({
      add: (o) => {
        seen.push(o.metadata.name!);
      },
    });
    await informer.waitForSync();
    await waitUntil(
      "silent watches restarted",
      () => informer.stats().restarts.silence >= 3,
      60_000,
    );
    // The streams genuinely carried nothing: with no watch cache there are no bookmarks.
    assert.equal(control.counts.events, 0);
    assert.ok(control.counts.watches >= 3);
    const stats = informer.stats();
    assert.equal(stats.restarts.error, 0);
    assert.equal(stats.lists, 1, "silence resumes the watch; it does not relist");
    // The restarted watch works.
    await client.create(ConfigMap, {
      metadata: { name: "late", namespace, labels: { "cache-test": "quiet" } },
    });
    await waitUntil("the add", () => seen.includes("late"));
  });
});
