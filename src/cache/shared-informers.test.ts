import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { FakeSource } from "./fake-source.ts";
import { InformerFactory, normalizeSelector } from "./shared-informers.ts";

const ConfigMap: ResourceType = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
};
const Namespace: ResourceType = {
  apiVersion: "v1",
  kind: "Namespace",
  plural: "namespaces",
  namespaced: false,
};

async function waitFor(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe("normalizeSelector", () => {
  test("sorts and trims top-level terms, keeping set expressions whole", () => {
    assert.equal(normalizeSelector(" b=2 , a=1"), "a=1,b=2");
    assert.equal(normalizeSelector("tier in (web, api),app=x"), "app=x,tier in (web, api)");
    assert.equal(normalizeSelector(""), undefined);
    assert.equal(normalizeSelector(undefined), undefined);
  });
});

describe("InformerFactory", () => {
  test("hands out one informer per type and selection", () => {
    const factory = new InformerFactory({ client: new FakeSource() });
    const a = factory.informer(ConfigMap, { namespace: "ns", labelSelector: "b=2,a=1" });
    assert.equal(factory.informer(ConfigMap, { namespace: "ns", labelSelector: "a=1, b=2" }), a);
    assert.notEqual(
      factory.informer(ConfigMap, { namespace: "other", labelSelector: "a=1,b=2" }),
      a,
    );
    assert.notEqual(factory.informer(ConfigMap, { namespace: "ns" }), a);
    assert.notEqual(
      factory.informer(ConfigMap, {
        namespace: "ns",
        labelSelector: "a=1,b=2",
        fieldSelector: "metadata.name=x",
      }),
      a,
    );
    const metadata = factory.metadataInformer(ConfigMap, {
      namespace: "ns",
      labelSelector: "a=1,b=2",
    });
    assert.notEqual(metadata as unknown, a);
    assert.equal(metadata.id.metadataOnly, true);
    assert.equal(factory.informer(ConfigMap), factory.informer(ConfigMap, { namespace: "" }));
    // A namespace means nothing for a cluster-scoped type.
    assert.equal(factory.informer(Namespace, { namespace: "x" }), factory.informer(Namespace));
    assert.equal(factory.informers().length, 7);
  });

  test("starts each informer once, including those handed out after start", async () => {
    const source = new FakeSource();
    source.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "a", name: "x" } });
    const factory = new InformerFactory({ client: source });
    const first = factory.informer(ConfigMap);
    first.addHandler({});
    const controller = new AbortController();
    factory.start(controller.signal);
    factory.start(controller.signal);
    const second = factory.informer(ConfigMap, { namespace: "a" });
    assert.equal(second.running, true);
    await factory.waitForSync();
    assert.equal(factory.hasSynced(), true);
    assert.equal(first.store.size, 1);
    assert.equal(second.store.size, 1);
    assert.equal(source.requests.filter((r) => r.verb === "watch").length, 2);
    assert.equal(factory.stats().length, 2);
    controller.abort();
    await factory.stop();
    assert.equal(source.openStreams, 0);
    assert.throws(() => factory.informer(ConfigMap, { namespace: "b" }), /stopped/);
    // Existing ones are still handed out.
    assert.equal(factory.informer(ConfigMap), first);
  });

  test("consumers' indexes are added to the shared informer; clashing ones are refused", async () => {
    const source = new FakeSource();
    const factory = new InformerFactory({ client: source });
    const byName = (o: KubeObject) => [o.metadata.name ?? ""];
    const informer = factory.informer(ConfigMap, { indexers: { byName } });
    assert.equal(factory.informer(ConfigMap, { indexers: { byName } }), informer);
    assert.throws(
      () => factory.informer(ConfigMap, { indexers: { byName: () => [] } }),
      /already exists/,
    );
    factory.start();
    source.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "a", name: "x" } });
    await factory.waitForSync();
    await waitFor(() => informer.store.size === 1, "the object");
    assert.equal(informer.store.byIndex("byName", "x").length, 1);
    await factory.stop();
  });

  test("factory options reach every informer", async () => {
    const source = new FakeSource({ streamingLists: false });
    const factory = new InformerFactory({
      client: source,
      pageSize: 7,
      listFromCache: false,
      transform: (o) => ({ ...o, data: { replaced: "yes" } }),
    });
    const informer = factory.informer(ConfigMap);
    source.put({ apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "a", name: "x" } });
    factory.start();
    await factory.waitForSync();
    assert.deepEqual(informer.store.get("a/x")?.data, { replaced: "yes" });
    const list = source.requests.find((r) => r.verb === "list");
    assert.equal(list?.request.limit, 7);
    await factory.stop();
  });
});
