/**
 * Informers across API server restarts and expired watches, on a private control plane (these
 * tests break it on purpose).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import { type ControlPlane, startControlPlane } from "../testkit/index.ts";
import { clientListWatch } from "./client-source.ts";
import { Informer } from "./informer.ts";
import type { RestartInfo } from "./observer.ts";
import type { ListWatchClient } from "./source.ts";

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
  plane = await startControlPlane({ nodes: 0, controllerManager: false });
  client = await KubeClient.fromKubeConfig({
    kubeconfig: plane.kubeconfigPath,
    fieldManager: "operon-cache-test",
    maxRetries: 0,
  });
});

after(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  await client?.close();
  await plane?.stop();
});

async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
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
 * Wraps a source so a test can hold watches back: `pause()` ends the open streams and makes
 * new watches wait until `resume()`. The server's answers are untouched; only timing changes.
 */
function gated(inner: ListWatchClient): { source: ListWatchClient; pause(): void; resume(): void } {
  let gate: Promise<void> | undefined;
  let open = () => {};
  const live = new Set<AbortController>();
  return {
    source: {
      list: (type, request) => inner.list(type, request),
      async watch(type, request) {
        while (gate) await gate;
        const controller = new AbortController();
        live.add(controller);
        request.signal.addEventListener("abort", () => live.delete(controller), { once: true });
        return inner.watch(type, {
          ...request,
          signal: AbortSignal.any([request.signal, controller.signal]),
        });
      },
    },
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

/** A handler that checks per-object order and duplicates, and keeps its own view. */
function auditor() {
  const view = new Map<string, ConfigMapObject>();
  const delivered = new Map<string, string[]>();
  const events: string[] = [];
  const problems: string[] = [];
  const record = (o: ConfigMapObject) => {
    const key = objectKey(o);
    const list = delivered.get(key) ?? [];
    if (list.includes(o.metadata.resourceVersion!))
      problems.push(`${key} repeated ${o.metadata.resourceVersion}`);
    list.push(o.metadata.resourceVersion!);
    delivered.set(key, list);
  };
  return {
    view,
    delivered,
    events,
    problems,
    handler: {
      add: (o: ConfigMapObject) => {
        events.push(`add ${o.metadata.name}`);
        if (view.has(objectKey(o))) problems.push(`add of present ${objectKey(o)}`);
        record(o);
        view.set(objectKey(o), o);
      },
      update: (old: ConfigMapObject, o: ConfigMapObject) => {
        events.push(`update ${o.metadata.name}`);
        if (view.get(objectKey(o)) !== old)
          problems.push(`update of ${objectKey(o)} from an undelivered state`);
        record(o);
        view.set(objectKey(o), o);
      },
      delete: (o: ConfigMapObject, info: { finalStateUnknown: boolean }) => {
        events.push(`delete ${o.metadata.name}${info.finalStateUnknown ? " unknown" : ""}`);
        if (!view.has(objectKey(o))) problems.push(`delete of absent ${objectKey(o)}`);
        if (!info.finalStateUnknown) record(o);
        view.delete(objectKey(o));
      },
    },
  };
}

async function informerOn(
  namespace: string,
  source?: (inner: ListWatchClient) => ListWatchClient,
  observe?: (info: RestartInfo) => void,
): Promise<Informer<ConfigMapObject>> {
  const own = await KubeClient.fromKubeConfig({ kubeconfig: plane.kubeconfigPath });
  const base = clientListWatch(own);
  const informer = new Informer<ConfigMapObject>({
    client: source ? source(base) : base,
    type: ConfigMap,
    namespace,
    backoff: { initialMs: 100, maxMs: 1000 },
    ...(observe ? { observer: { restarted: (_id, info) => observe(info) } } : {}),
  });
  cleanup.push(async () => {
    await informer.stop();
    await own.close();
  });
  return informer;
}

describe("informers through API server restarts", () => {
  test("a watch resumes across an API server restart without missing or duplicating the final state", async (t) => {
    const namespace = await plane.createNamespace("cache-restart");
    const names = Array.from({ length: 20 }, (_, i) => `o-${i}`);
    for (const name of names)
      await client.create(ConfigMap, { metadata: { name, namespace }, data: { v: "0" } });
    const informer = await informerOn(namespace);
    const audit = auditor();
    informer.addHandler(audit.handler);
    informer.start();
    await informer.waitForSync();

    // Writes keep coming before, during and after the restart; failed ones are simply lost.
    let writing = true;
    let written = 0;
    let counter = 0;
    const writer = (async () => {
      while (writing) {
        const name = names[counter++ % names.length]!;
        try {
          await client.patch(ConfigMap, name, { data: { v: String(counter) } }, { namespace });
          written++;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    })();
    await waitUntil("writes before the restart", () => written >= 20);
    await plane.restartApiServer();
    const afterRestart = written;
    await waitUntil("writes after the restart", () => written >= afterRestart + 40);
    writing = false;
    await writer;

    const fresh = async () => versions((await client.listAll(ConfigMap, { namespace })).items);
    const expected = await fresh();
    await waitUntil("the store to equal the server", () =>
      sameVersions(versions(informer.store.list()), expected),
    );
    assert.deepEqual(audit.problems, []);
    assert.ok(
      sameVersions(versions(audit.view.values()), expected),
      "the handler's view equals the server",
    );
    for (const [key, rv] of expected) {
      assert.equal(
        audit.delivered.get(key)?.filter((v) => v === rv).length,
        1,
        `final state of ${key} once`,
      );
    }
    const { restarts, lists } = informer.stats();
    t.diagnostic(`restarts ${JSON.stringify(restarts)}, lists ${lists}, writes ${written}`);
    assert.ok(restarts.error + restarts.closed + restarts.gone >= 1, JSON.stringify(restarts));
  });

  test("watches expired by compaction and a restart (410) relist, and only the differences are emitted", async () => {
    const namespace = await plane.createNamespace("cache-expired");
    for (const name of ["kept", "changed", "vanished"]) {
      await client.create(ConfigMap, { metadata: { name, namespace }, data: { v: "1" } });
    }
    let control: ReturnType<typeof gated> | undefined;
    const restarts: RestartInfo[] = [];
    const informer = await informerOn(
      namespace,
      (inner) => {
        control = gated(inner);
        return control.source;
      },
      (info) => restarts.push(info),
    );
    const audit = auditor();
    informer.addHandler(audit.handler);
    informer.start();
    await informer.waitForSync();
    audit.events.length = 0;

    control!.pause(); // no watch open from here on
    await client.patch(ConfigMap, "changed", { data: { v: "2" } }, { namespace });
    await client.delete(ConfigMap, "vanished", { namespace });
    await client.create(ConfigMap, { metadata: { name: "new", namespace } });
    await plane.expireWatches();
    control!.resume();

    await waitUntil("the relist", () => informer.stats().lists >= 2);
    assert.ok(
      restarts.some((r) => r.reason === "gone"),
      JSON.stringify(restarts.map((r) => r.reason)),
    );
    const expected = versions((await client.listAll(ConfigMap, { namespace })).items);
    await waitUntil("the store to equal the server", () =>
      sameVersions(versions(informer.store.list()), expected),
    );
    assert.deepEqual(audit.events.sort(), ["add new", "delete vanished unknown", "update changed"]);
    assert.deepEqual(audit.problems, []);
  });
});
