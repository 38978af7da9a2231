/**
 * Informers against the real API server (the shared test control plane), through the real client.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../client/errors.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import { type ControlPlane, testControlPlane } from "../testkit/index.ts";
import { clientListWatch } from "./client-source.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import type { ListInfo } from "./observer.ts";
import { InformerFactory } from "./shared-informers.ts";

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
  plane = await testControlPlane();
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "operon-cache-test",
  });
});

after(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  await client?.close();
});

/** An informer on its own client, stopped (and its client closed) after the file. */
async function startInformer(
  options: Omit<InformerOptions<ConfigMapObject>, "client" | "type">,
  kubeconfig = plane.kubeconfigPath,
): Promise<Informer<ConfigMapObject>> {
  const own = await KubeClient.fromKubeConfig({ kubeconfig });
  const informer = new Informer<ConfigMapObject>({
    client: clientListWatch(own),
    type: ConfigMap,
    ...options,
  });
  cleanup.push(async () => {
    await informer.stop();
    await own.close();
  });
  informer.start();
  return informer;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `task` over `items` with at most `width` in flight. */
async function inParallel<I>(
  items: I[],
  width: number,
  task: (item: I) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await task(items[next++]!);
    }),
  );
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

describe("informers against the API server", () => {
  test("streaming and paginated lists of more than 1,000 objects", async () => {
    const namespace = await plane.createNamespace("cache-pages");
    const names = Array.from({ length: 1100 }, (_, i) => `cm-${String(i).padStart(4, "0")}`);
    // Labelled, so the namespace's own kube-root-ca.crt stays out of the count.
    const labelSelector = "cache-test=pages";
    await inParallel(names, 16, async (name) => {
      await client.create(ConfigMap, {
        metadata: { name, namespace, labels: { "cache-test": "pages" } },
        data: { i: name },
      });
    });

    const paginatedLists: ListInfo[] = [];
    const paginated = await startInformer({
      namespace,
      labelSelector,
      streamingList: false,
      listFromCache: false,
      observer: { listed: (_id, info) => paginatedLists.push(info) },
    });
    const streamedLists: ListInfo[] = [];
    const streamed = await startInformer({
      namespace,
      labelSelector,
      streamingList: true,
      observer: { listed: (_id, info) => streamedLists.push(info) },
    });
    const defaultLists: ListInfo[] = [];
    const byDefault = await startInformer({
      namespace,
      labelSelector,
      observer: { listed: (_id, info) => defaultLists.push(info) },
    });
    await paginated.waitForSync();
    await streamed.waitForSync();
    await byDefault.waitForSync();
    // The default: one list answered from the API server's watch cache.
    assert.equal(byDefault.store.size, 1100);
    assert.deepEqual(
      defaultLists.map((l) => [l.mode, l.pages, l.objects]),
      [["paginated", 1, 1100]],
    );

    assert.equal(paginated.store.size, 1100);
    assert.deepEqual(
      paginatedLists.map((l) => [l.mode, l.pages, l.objects]),
      [["paginated", 3, 1100]],
    );
    // Kubernetes 1.36 serves streaming lists: no fallback happened.
    assert.equal(streamed.store.size, 1100);
    assert.deepEqual(
      streamedLists.map((l) => [l.mode, l.objects]),
      [["streaming", 1100]],
    );
    assert.equal(streamed.stats().listMode, "streaming");
    const fresh = await client.listAll(ConfigMap, { namespace, labelSelector });
    assert.ok(sameVersions(versions(streamed.store.list()), versions(fresh.items)));
    assert.ok(sameVersions(versions(paginated.store.list()), versions(fresh.items)));
    const sample = streamed.store.get(`${namespace}/cm-0042`);
    assert.equal(sample?.kind, "ConfigMap");
    assert.equal(sample?.metadata.managedFields, undefined, "managedFields are stripped");
    assert.deepEqual(sample?.data, { i: "cm-0042" });
  });

  test("a randomized churn of 2,000 writes across namespaces ends with the store equal to the server", async () => {
    const run = randomBytes(4).toString("hex");
    const namespaces = await Promise.all([1, 2, 3].map(() => plane.createNamespace("cache-churn")));
    const informer = await startInformer({ labelSelector: `churn=${run}` });
    // What one handler learns, rebuilt from its events only, and each key's versions in order.
    const view = new Map<string, ConfigMapObject>();
    const seenVersions = new Map<string, string[]>();
    const problems: string[] = [];
    const record = (o: ConfigMapObject) => {
      const key = objectKey(o);
      const list = seenVersions.get(key) ?? [];
      if (list.includes(o.metadata.resourceVersion!))
        problems.push(`${key} repeated ${o.metadata.resourceVersion}`);
      list.push(o.metadata.resourceVersion!);
      seenVersions.set(key, list);
    };
    informer.addHandler({
      add: (o) => {
        if (view.has(objectKey(o))) problems.push(`add of present ${objectKey(o)}`);
        record(o);
        view.set(objectKey(o), o);
      },
      update: (old, o) => {
        if (view.get(objectKey(o)) !== old)
          problems.push(`update of ${objectKey(o)} from an undelivered state`);
        record(o);
        view.set(objectKey(o), o);
      },
      delete: (o, info) => {
        if (!view.has(objectKey(o))) problems.push(`delete of absent ${objectKey(o)}`);
        if (!info.finalStateUnknown) record(o);
        view.delete(objectKey(o));
      },
    });
    await informer.waitForSync();

    let seed = 7;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const operations = Array.from({ length: 2000 }, (_, step) => ({
      step,
      namespace: namespaces[Math.floor(random() * namespaces.length)]!,
      name: `o-${Math.floor(random() * 50)}`,
      roll: random(),
    }));
    let writes = 0;
    await inParallel(operations, 12, async ({ step, namespace, name, roll }) => {
      const metadata = { name, namespace, labels: { churn: run } };
      try {
        if (roll < 0.35) {
          await client.create(ConfigMap, { metadata, data: { step: String(step) } });
        } else if (roll < 0.75) {
          await client.patch(ConfigMap, name, { data: { step: String(step) } }, { namespace });
        } else {
          await client.delete(ConfigMap, name, { namespace });
        }
        writes++;
      } catch (error) {
        if (!isAlreadyExists(error) && !isNotFound(error) && !isConflict(error)) throw error;
      }
    });
    assert.ok(writes > 1000, `${writes} writes succeeded`);

    const fresh = async () =>
      versions((await client.listAll(ConfigMap, { labelSelector: `churn=${run}` })).items);
    let expected = await fresh();
    await waitUntil("the store to equal the server", () =>
      sameVersions(versions(informer.store.list()), expected),
    );
    expected = await fresh();
    assert.ok(
      sameVersions(versions(informer.store.list()), expected),
      "still equal to a fresh list",
    );
    assert.deepEqual(problems, []);
    assert.ok(
      sameVersions(versions(view.values()), expected),
      "the handler's view equals the server",
    );
    // Each object's final state was delivered exactly once.
    for (const [key, rv] of expected) {
      assert.equal(seenVersions.get(key)?.filter((v) => v === rv).length, 1, key);
    }
  });

  test("the factory shares informers; metadata-only ones hold metadata only", async () => {
    const namespace = await plane.createNamespace("cache-shared");
    await client.create(ConfigMap, {
      metadata: { name: "x", namespace, labels: { app: "web" } },
      data: { payload: "big" },
    });
    const own = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
    const factory = new InformerFactory({ client: clientListWatch(own) });
    cleanup.push(async () => {
      await factory.stop();
      await own.close();
    });
    const metadata = factory.metadataInformer(ConfigMap, { namespace });
    assert.equal(factory.metadataInformer(ConfigMap, { namespace }), metadata);
    const full = factory.informer(ConfigMap, { namespace });
    assert.equal(factory.informer(ConfigMap, { namespace }), full);
    factory.start();
    await factory.waitForSync();
    const partial = metadata.store.get(`${namespace}/x`);
    assert.equal(partial?.kind, "PartialObjectMetadata");
    assert.equal(partial?.apiVersion, "meta.k8s.io/v1");
    assert.deepEqual(partial?.metadata.labels, { app: "web" });
    assert.equal((partial as KubeObject & { data?: unknown }).data, undefined);
    assert.equal(partial?.metadata.managedFields, undefined);
    assert.deepEqual(full.store.get(`${namespace}/x`)?.data, { payload: "big" });
    await client.patch(ConfigMap, "x", { metadata: { labels: { app: "api" } } }, { namespace });
    await waitUntil(
      "the metadata update",
      () => metadata.store.get(`${namespace}/x`)?.metadata.labels?.app === "api",
    );
    assert.equal(factory.stats().length, 2);
  });

  test("a dead connection is detected by its silence and the watch restarted without losing changes", async () => {
    const namespace = await plane.createNamespace("cache-dead");
    const proxy = await startProxy(new URL(plane.server));
    cleanup.push(() => proxy.close());
    const dir = await mkdtemp(join(tmpdir(), "operon-cache-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, plane.kubeconfig.replaceAll(plane.server, proxy.url));

    const seen: string[] = [];
    const informer = await startInformer(
      { namespace, labelSelector: "cache-test=dead", silenceTimeoutMs: 3000 },
      kubeconfig,
    );
    informer.addHandler({
      add: (o) => {
        seen.push(o.metadata.name!);
      },
    });
    await informer.waitForSync();
    const labels = { "cache-test": "dead" };
    await client.create(ConfigMap, { metadata: { name: "before", namespace, labels } });
    await waitUntil("the first add", () => seen.includes("before"));

    // Every connection open now stays open but carries nothing more: a half-open TCP connection.
    const frozen = proxy.freeze();
    assert.ok(frozen >= 1);
    await client.create(ConfigMap, { metadata: { name: "during", namespace, labels } });
    await waitUntil(
      "the change made while the connection was dead",
      () => seen.includes("during"),
      60_000,
    );
    const stats = informer.stats();
    assert.ok(stats.restarts.silence >= 1, "restarted for silence");
    assert.equal(stats.lists, 1, "resumed from its resource version, no relist");
    assert.deepEqual(seen, ["before", "during"]);
  });

  test("no sockets or file descriptors left behind by 100 watch reconnects", async (t) => {
    const namespace = await plane.createNamespace("cache-fds");
    // A selection with nothing in it: the server's watch stays quiet, and a short silence
    // timeout makes the informer abandon and reopen it again and again.
    const silent = await startInformer({
      namespace,
      labelSelector: "operon.dev/nothing=here",
      silenceTimeoutMs: 150,
      backoff: { initialMs: 1, maxMs: 10 },
    });
    // And watches the server itself ends, each after a second.
    const ended = await startInformer({
      namespace,
      watchTimeoutSeconds: 1,
      minWatchDurationMs: 500,
    });
    await silent.waitForSync();
    await ended.waitForSync();
    const restarts = () => silent.stats().restarts.silence;
    await waitUntil("warm-up reconnects", () => restarts() >= 5);
    const before = await openDescriptors();
    const from = restarts();
    await waitUntil("100 more reconnects", () => restarts() >= from + 100, 120_000);
    const afterCount = await openDescriptors();
    assert.ok(
      afterCount.total <= before.total + 3,
      `descriptors: ${before.total} before, ${afterCount.total} after (sockets ${before.sockets} → ${afterCount.sockets})`,
    );
    assert.ok(
      afterCount.sockets <= before.sockets + 2,
      `sockets ${before.sockets} → ${afterCount.sockets}`,
    );
    t.diagnostic(
      `descriptors ${before.total} → ${afterCount.total}, sockets ${before.sockets} → ${afterCount.sockets}`,
    );
    const endedStats = ended.stats();
    assert.ok(
      endedStats.restarts.closed >= 3,
      `server-ended watches resumed: ${endedStats.restarts.closed}`,
    );
    assert.equal(endedStats.restarts.error, 0, "a server ending a watch is not an error");
    assert.equal(endedStats.lists, 1);
  });
});

async function openDescriptors(): Promise<{ total: number; sockets: number }> {
  // Let closed sockets finish closing first.
  await new Promise((resolve) => setTimeout(resolve, 300));
  let sockets = 0;
  const entries = await readdir("/proc/self/fd");
  for (const fd of entries) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target.startsWith("socket:")) sockets++;
  }
  return { total: entries.length, sockets };
}

/** A TCP proxy that can freeze its current connections (open, but nothing passes). */
async function startProxy(
  target: URL,
): Promise<{ url: string; freeze(): number; close(): Promise<void> }> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  const server: Server = createServer((clientSocket) => {
    const upstream = connect(Number(target.port), target.hostname);
    const pair = { client: clientSocket, upstream };
    pairs.add(pair);
    clientSocket.pipe(upstream);
    upstream.pipe(clientSocket);
    const done = () => {
      clientSocket.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    clientSocket.on("error", done);
    upstream.on("error", done);
    clientSocket.on("close", done);
    upstream.on("close", done);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("proxy has no port");
  const frozenPairs = new Set<{ client: Socket; upstream: Socket }>();
  return {
    url: `https://127.0.0.1:${address.port}`,
    freeze() {
      for (const pair of pairs) {
        pair.client.unpipe(pair.upstream);
        pair.upstream.unpipe(pair.client);
        pair.client.pause();
        pair.upstream.pause();
        frozenPairs.add(pair);
      }
      return frozenPairs.size;
    },
    async close() {
      for (const pair of [...pairs, ...frozenPairs]) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
