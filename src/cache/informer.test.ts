import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import type { Logger } from "../logger.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import { FakeSource } from "./fake-source.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import type { ListWatchClient, ListWatchEvent } from "./source.ts";
import { keepObject } from "./transform.ts";

const ConfigMap: ResourceType = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
};

function cm(
  namespace: string,
  name: string,
  data: Record<string, string> = {},
  metadata: Partial<KubeObject["metadata"]> = {},
): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { namespace, name, ...metadata }, data };
}

async function waitFor(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const running = new Set<Informer<KubeObject>>();
afterEach(async () => {
  await Promise.all([...running].map((inf) => inf.stop()));
  running.clear();
});

function informer(
  client: ListWatchClient,
  options: Partial<InformerOptions<KubeObject>> = {},
): Informer<KubeObject> {
  const inf = new Informer<KubeObject>({
    client,
    type: ConfigMap,
    backoff: { initialMs: 1, maxMs: 5 },
    watchTimeoutSeconds: null,
    minWatchDurationMs: 0,
    streamingList: true,
    listFromCache: false,
    ...options,
  });
  running.add(inf);
  return inf;
}

/** A client whose list returns `items` once and whose watch plays `events`, then stays open. */
function scripted(items: KubeObject[], events: ListWatchEvent[]): ListWatchClient {
  return {
    list: async <T extends KubeObject>() => ({
      apiVersion: "v1",
      kind: "ConfigMapList",
      metadata: { resourceVersion: "100" },
      items: items as T[],
    }),
    watch: <T extends KubeObject>(_type: ResourceType<T>, request: { signal: AbortSignal }) => {
      const queue = [...events] as ListWatchEvent<T>[];
      return {
        [Symbol.asyncIterator]: () => ({
          next: (): Promise<IteratorResult<ListWatchEvent<T>>> => {
            const event = queue.shift();
            if (event) return Promise.resolve({ done: false, value: event });
            return new Promise((resolve) =>
              request.signal.addEventListener("abort", () =>
                resolve({ done: true, value: undefined }),
              ),
            );
          },
        }),
      };
    },
  };
}

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push(`${level} ${message} ${JSON.stringify(fields)}`);
    };
  return { lines, debug: () => {}, info: log("info"), warn: log("warn"), error: log("error") };
}

describe("sync", () => {
  test("hasSynced and waitForSync follow the first complete list; handlers see initial adds", async () => {
    const source = new FakeSource();
    source.put(cm("a", "one"));
    const inf = informer(source);
    const seen: string[] = [];
    const registration = inf.addHandler({
      add: (o, info) => {
        seen.push(`${objectKey(o)} ${info.initial}`);
      },
    });
    assert.equal(inf.hasSynced(), false);
    assert.equal(registration.hasSynced(), false);
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.hasSynced(), true);
    await registration.waitForSync();
    assert.deepEqual(seen, ["a/one true"]);
    assert.equal(inf.store.get("a/one")?.metadata.name, "one");
  });

  test("a handler added after the sync first gets the cached objects as initial adds", async () => {
    const source = new FakeSource();
    source.put(cm("a", "one"));
    source.put(cm("a", "two"));
    const inf = informer(source);
    inf.start();
    await inf.waitForSync();
    const seen: string[] = [];
    const registration = inf.addHandler({
      add: (o, info) => {
        seen.push(`add ${objectKey(o)} ${info.initial}`);
      },
    });
    assert.equal(registration.hasSynced(), true, "synchronous handlers are synced at once");
    source.put(cm("a", "three"));
    await waitFor(() => seen.length === 3, "the live add");
    assert.deepEqual(seen, ["add a/one true", "add a/two true", "add a/three false"]);
  });

  test("waitForSync rejects on abort and when the informer stops before syncing", async () => {
    const never: ListWatchClient = {
      list: () => new Promise(() => {}),
      watch: () => new Promise(() => {}),
    };
    const inf = informer(never);
    inf.start();
    const controller = new AbortController();
    const waiting = inf.waitForSync(controller.signal);
    controller.abort(new Error("shutting down"));
    await assert.rejects(waiting, /shutting down/);
    const registration = inf.addHandler({});
    const stillWaiting = inf.waitForSync();
    const handlerWaiting = registration.waitForSync();
    await inf.stop();
    await assert.rejects(stillWaiting, /stopped before it synced/);
    await assert.rejects(handlerWaiting, /stopped before it synced/);
    await assert.rejects(inf.waitForSync(), /stopped before it synced/);
  });

  test("stopping through the start signal releases the stream", async () => {
    const source = new FakeSource();
    const inf = informer(source);
    const controller = new AbortController();
    inf.start(controller.signal);
    await inf.waitForSync();
    await waitFor(() => source.openStreams === 1, "the watch");
    controller.abort();
    await waitFor(() => !inf.running, "the loop to end");
    assert.equal(source.openStreams, 0);
  });
});

describe("events", () => {
  test("an event repeating the stored resource version is not re-delivered", async () => {
    const x = cm("a", "x", {}, { resourceVersion: "5", uid: "u" });
    const inf = informer(
      scripted(
        [x],
        [
          { type: "MODIFIED", object: x },
          { type: "MODIFIED", object: { ...x, metadata: { ...x.metadata, resourceVersion: "6" } } },
          { type: "BOOKMARK", object: { metadata: { resourceVersion: "7" } } },
        ],
      ),
      { streamingList: false },
    );
    const seen: string[] = [];
    inf.addHandler({
      add: (o) => {
        seen.push(`add ${o.metadata.resourceVersion}`);
      },
      update: (old, o) => {
        seen.push(`update ${old.metadata.resourceVersion}->${o.metadata.resourceVersion}`);
      },
    });
    inf.start();
    await waitFor(() => inf.stats().resourceVersion === "7", "the bookmark");
    assert.deepEqual(seen, ["add 5", "update 5->6"]);
  });

  test("a re-added object with another UID is a delete (final state unknown) and an add", async () => {
    const x = cm("a", "x", {}, { resourceVersion: "5", uid: "old" });
    const inf = informer(
      scripted(
        [x],
        [{ type: "ADDED", object: cm("a", "x", {}, { resourceVersion: "9", uid: "new" }) }],
      ),
      { streamingList: false },
    );
    const seen: string[] = [];
    inf.addHandler({
      add: (o) => {
        seen.push(`add ${o.metadata.uid}`);
      },
      delete: (o, info) => {
        seen.push(`delete ${o.metadata.uid} ${info.finalStateUnknown}`);
      },
    });
    inf.start();
    await waitFor(() => seen.length === 3, "the events");
    assert.deepEqual(seen, ["add old", "delete old true", "add new"]);
  });

  test("a delete of an object not in the store is not reported; deletes carry the final state", async () => {
    const x = cm("a", "x", {}, { resourceVersion: "5" });
    const inf = informer(
      scripted(
        [x],
        [
          { type: "DELETED", object: cm("a", "ghost", {}, { resourceVersion: "6" }) },
          { type: "DELETED", object: cm("a", "x", { final: "yes" }, { resourceVersion: "7" }) },
        ],
      ),
      { streamingList: false },
    );
    const seen: string[] = [];
    inf.addHandler({
      delete: (o, info) => {
        seen.push(`${objectKey(o)} ${o.metadata.resourceVersion} ${info.finalStateUnknown}`);
      },
    });
    inf.start();
    await waitFor(() => inf.stats().resourceVersion === "7", "the deletes");
    assert.deepEqual(seen, ["a/x 7 false"]);
    assert.equal(inf.store.size, 0);
  });

  test("managedFields are stripped by default; a custom transform applies to every event", async () => {
    const managed = { managedFields: [{ manager: "kubectl", operation: "Apply" as const }] };
    const source = new FakeSource();
    source.put(cm("a", "x", { big: "payload" }, managed));
    const stripped = informer(source);
    const custom = informer(source, {
      transform: (o) => ({
        ...o,
        data: undefined,
        metadata: { ...o.metadata, labels: { seen: "1" } },
      }),
    });
    const kept = informer(source, { transform: keepObject });
    const deleted: KubeObject[] = [];
    custom.addHandler({
      delete: (o) => {
        deleted.push(o);
      },
    });
    for (const inf of [stripped, custom, kept]) inf.start();
    for (const inf of [stripped, custom, kept]) await inf.waitForSync();
    assert.equal(stripped.store.get("a/x")?.metadata.managedFields, undefined);
    assert.deepEqual(stripped.store.get("a/x")?.data, { big: "payload" });
    assert.equal(custom.store.get("a/x")?.data, undefined);
    assert.ok(kept.store.get("a/x")?.metadata.managedFields);
    source.remove("a/x");
    await waitFor(() => deleted.length === 1, "the delete");
    assert.deepEqual(deleted[0]?.metadata.labels, { seen: "1" });
  });

  test("custom indexes work through the informer", async () => {
    const source = new FakeSource();
    source.put(cm("a", "x", { team: "blue" }));
    source.put(cm("b", "y", { team: "blue" }));
    const inf = informer(source, {
      indexers: { team: (o) => [String((o.data as Record<string, string>).team)] },
    });
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.store.byIndex("team", "blue").length, 2);
    inf.addIndexers({ ns: (o) => [o.metadata.namespace ?? ""] });
    assert.equal(inf.store.byIndex("ns", "b").length, 1);
    assert.equal(inf.store.byIndex("namespace", "a").length, 1);
  });
});

describe("handlers", () => {
  test("a throwing or rejecting handler neither stops the informer nor affects other handlers", async () => {
    const source = new FakeSource();
    const logger = capturingLogger();
    const failures: string[] = [];
    const inf = informer(source, {
      logger,
      observer: { handlerFailed: (_id, info) => failures.push(`${info.event} ${info.key}`) },
    });
    inf.addHandler(
      {
        add: () => {
          throw new Error("sync boom");
        },
      },
      { name: "thrower" },
    );
    inf.addHandler({
      add: async () => {
        throw new Error("async boom");
      },
    });
    const seen: string[] = [];
    inf.addHandler({
      add: (o) => {
        seen.push(objectKey(o));
      },
    });
    inf.start();
    await inf.waitForSync();
    source.put(cm("a", "one"));
    source.put(cm("a", "two"));
    await waitFor(() => seen.length === 2 && failures.length === 4, "deliveries");
    assert.deepEqual(seen, ["a/one", "a/two"]);
    assert.deepEqual(failures.sort(), ["add a/one", "add a/one", "add a/two", "add a/two"]);
    assert.ok(
      logger.lines.some((l) => l.includes("event handler failed") && l.includes("thrower")),
    );
    assert.equal(inf.running, true);
  });

  test("a slow async handler delays only itself, and still gets every event in order", async () => {
    const source = new FakeSource();
    const inf = informer(source);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: string[] = [];
    const slowRegistration = inf.addHandler({
      add: async (o) => {
        await gate;
        slow.push(objectKey(o));
      },
      update: async (_old, o) => {
        slow.push(`u ${objectKey(o)} ${String((o.data as Record<string, string>).v)}`);
      },
    });
    const fast: string[] = [];
    inf.addHandler({
      add: (o) => {
        fast.push(objectKey(o));
      },
    });
    inf.start();
    await inf.waitForSync();
    for (let i = 0; i < 5; i++) source.put(cm("a", `o${i}`));
    source.put(cm("a", "o0", { v: "2" }));
    await waitFor(() => fast.length === 5, "the fast handler");
    assert.equal(slow.length, 0);
    assert.equal(slowRegistration.pending, 5, "one in delivery, five queued");
    assert.ok(inf.stats().pendingNotifications >= 5);
    release();
    await waitFor(() => slow.length === 6, "the slow handler to catch up");
    assert.deepEqual(slow, ["a/o0", "a/o1", "a/o2", "a/o3", "a/o4", "u a/o0 2"]);
  });

  test("a handler that has not had its initial state is not synced", async () => {
    const source = new FakeSource();
    source.put(cm("a", "one"));
    const inf = informer(source);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const registration = inf.addHandler({ add: () => gate });
    inf.start();
    await inf.waitForSync();
    assert.equal(registration.hasSynced(), false);
    release();
    await registration.waitForSync();
    assert.equal(registration.hasSynced(), true);
  });

  test("a removed handler gets nothing more", async () => {
    const source = new FakeSource();
    const inf = informer(source);
    const seen: string[] = [];
    const registration = inf.addHandler({
      add: (o) => {
        seen.push(objectKey(o));
      },
    });
    inf.start();
    await inf.waitForSync();
    source.put(cm("a", "one"));
    await waitFor(() => seen.length === 1, "the first add");
    registration.remove();
    source.put(cm("a", "two"));
    await waitFor(() => inf.store.size === 2, "the store");
    assert.deepEqual(seen, ["a/one"]);
    assert.equal(inf.stats().handlers, 0);
  });

  test("resync re-delivers cached objects as updates, only to handlers that ask for it", async () => {
    const source = new FakeSource();
    source.put(cm("a", "one"));
    source.put(cm("a", "two"));
    const inf = informer(source);
    const resynced: string[] = [];
    inf.addHandler(
      {
        update: (old, o, info) => {
          if (info.resync && old === o) resynced.push(objectKey(o));
        },
      },
      { resyncPeriodMs: 20 },
    );
    let others = 0;
    inf.addHandler({
      update: () => {
        others++;
      },
    });
    inf.start();
    await inf.waitForSync();
    await waitFor(() => resynced.length >= 4, "two resyncs");
    assert.deepEqual(new Set(resynced), new Set(["a/one", "a/two"]));
    assert.equal(others, 0);
    assert.throws(() => inf.addHandler({}, { resyncPeriodMs: 0 }), RangeError);
  });
});

describe("ordering across reconnects and relists", () => {
  test("randomized churn: every handler event is in server order, none repeated, and the store converges", async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const source = new FakeSource({ goneAs: "event" });
    const revision = (o: KubeObject) => Number.parseInt(o.metadata.resourceVersion!.slice(1), 16);
    const inf = informer(source, { silenceTimeoutMs: 30 });
    // What the handler believes, rebuilt only from its events.
    const view = new Map<string, KubeObject>();
    const lastRevision = new Map<string, number>();
    const problems: string[] = [];
    const check = (key: string, o: KubeObject, what: string) => {
      const r = revision(o);
      const previous = lastRevision.get(key) ?? 0;
      if (r <= previous) problems.push(`${what} ${key} at ${r} after ${previous}`);
      lastRevision.set(key, r);
    };
    inf.addHandler({
      add: (o) => {
        const key = objectKey(o);
        if (view.has(key)) problems.push(`add of present ${key}`);
        check(key, o, "add");
        view.set(key, o);
      },
      update: (old, o) => {
        const key = objectKey(o);
        if (view.get(key) !== old) problems.push(`update of ${key} from a state not delivered`);
        check(key, o, "update");
        view.set(key, o);
      },
      delete: (o, info) => {
        const key = objectKey(o);
        if (!view.has(key)) problems.push(`delete of absent ${key}`);
        if (!info.finalStateUnknown) check(key, o, "delete");
        view.delete(key);
      },
    });
    inf.start();
    await inf.waitForSync();
    for (let step = 0; step < 2000; step++) {
      const key = `n${Math.floor(random() * 3)}/o${Math.floor(random() * 40)}`;
      const [namespace, name] = key.split("/") as [string, string];
      const roll = random();
      if (roll < 0.3 && source.get(key)) source.remove(key);
      else source.put(cm(namespace, name, { step: String(step) }));
      const disruption = random();
      if (disruption < 0.01) source.closeWatches();
      else if (disruption < 0.02) source.breakWatches();
      else if (disruption < 0.025) {
        source.closeWatches();
        source.compact();
      } else if (disruption < 0.03) {
        source.silenceWatches();
        await new Promise((resolve) => setTimeout(resolve, 60)); // past the silence timeout
      }
      if (random() < 0.1) await new Promise((resolve) => setTimeout(resolve, random() * 3));
    }
    source.put(cm("n0", "final"));
    const expected = () =>
      new Map(source.objects().map((o) => [objectKey(o), o.metadata.resourceVersion]));
    const actual = () =>
      new Map(inf.store.list().map((o) => [objectKey(o), o.metadata.resourceVersion]));
    await waitFor(
      () => JSON.stringify([...expected()].sort()) === JSON.stringify([...actual()].sort()),
      "the store to converge",
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(
      new Map([...view].map(([k, o]) => [k, o.metadata.resourceVersion])),
      actual(),
      "the handler's view equals the store",
    );
    const stats = inf.stats();
    assert.ok(stats.restarts.gone > 0, "relists happened");
    assert.ok(stats.restarts.closed > 0, "resumes happened");
    assert.ok(stats.restarts.error > 0, "broken streams happened");
    assert.ok(stats.restarts.silence > 0, "silent streams happened");
  });
});
