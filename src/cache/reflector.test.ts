import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { GoneError, NotFoundError, ServerError } from "../client/errors.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { FakeSource, type RecordedRequest } from "./fake-source.ts";
import { Informer, type InformerOptions } from "./informer.ts";
import type { RestartInfo } from "./observer.ts";
import type { ListWatchClient, ListWatchEvent, WatchRequest } from "./source.ts";

const ConfigMap: ResourceType = {
  apiVersion: "v1",
  kind: "ConfigMap",
  plural: "configmaps",
  namespaced: true,
};

function cm(namespace: string, name: string, data: Record<string, string> = {}): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { namespace, name }, data };
}

/** Waits until `condition` holds; fails after a generous limit rather than asserting timing. */
async function waitFor(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

// Stopped after each test, also when it fails, so no loop outlives its test.
const running = new Set<Informer<KubeObject>>();
afterEach(async () => {
  await Promise.all([...running].map((inf) => inf.stop()));
  running.clear();
});

function informer(
  client: ListWatchClient,
  options: Partial<InformerOptions<KubeObject>> = {},
): Informer<KubeObject> {
  return track(
    new Informer<KubeObject>({
      client,
      type: ConfigMap,
      backoff: { initialMs: 5, maxMs: 20 },
      watchTimeoutSeconds: null,
      minWatchDurationMs: 0,
      random: () => 0,
      // These tests exercise streaming and paginated lists; the list from the watch cache has
      // tests of its own.
      streamingList: true,
      listFromCache: false,
      ...options,
    }),
  );
}

function track(inf: Informer<KubeObject>): Informer<KubeObject> {
  running.add(inf);
  return inf;
}

function recorder(target: Informer<KubeObject>): string[] {
  const events: string[] = [];
  target.addHandler({
    add: (o, i) => {
      events.push(`add ${o.metadata.namespace}/${o.metadata.name}${i.initial ? " initial" : ""}`);
    },
    update: (old, o, i) => {
      events.push(
        `update ${o.metadata.namespace}/${o.metadata.name}${i.resync ? " resync" : ""}${old === o ? " same" : ""}`,
      );
    },
    delete: (o, i) => {
      events.push(
        `delete ${o.metadata.namespace}/${o.metadata.name}${i.finalStateUnknown ? " unknown" : ""}`,
      );
    },
  });
  return events;
}

const watches = (requests: RecordedRequest[]) =>
  requests.filter((r) => r.verb === "watch").map((r) => r.request as Omit<WatchRequest, "signal">);
const lists = (requests: RecordedRequest[]) => requests.filter((r) => r.verb === "list");

describe("full lists", () => {
  test("by default: one list from the watch cache (resourceVersion 0), a consistent paginated relist after 410", async () => {
    const source = new FakeSource({ streamingLists: false });
    for (let i = 0; i < 1234; i++) source.put(cm("a", `cm-${String(i).padStart(4, "0")}`));
    const inf = informer(source, { streamingList: undefined, listFromCache: undefined });
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.store.size, 1234);
    const first = lists(source.requests).map((r) => r.request);
    assert.equal(first.length, 1, "one request, no pages");
    assert.equal(first[0]?.resourceVersion, "0");
    assert.equal(first[0]?.limit, undefined);
    await waitFor(() => watches(source.requests).length === 1, "the watch");
    // The history the watch would resume from is gone: the relist reads the latest state.
    source.closeWatches();
    source.put(cm("a", "late"));
    source.compact();
    await waitFor(() => lists(source.requests).length > 1, "the relist");
    const relist = lists(source.requests)[1]?.request;
    assert.equal(relist?.resourceVersion, undefined);
    assert.equal(relist?.limit, 500);
    await inf.stop();
  });

  test("a streaming list: one watch with sendInitialEvents that goes on as the watch", async () => {
    const source = new FakeSource();
    source.put(cm("a", "one"));
    source.put(cm("a", "two"));
    const inf = informer(source);
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    assert.deepEqual(events.sort(), ["add a/one initial", "add a/two initial"]);
    source.put(cm("a", "three"));
    await waitFor(() => events.length === 3, "the live add");
    assert.equal(events[2], "add a/three");
    assert.equal(lists(source.requests).length, 0);
    const [watch, ...rest] = watches(source.requests);
    assert.equal(rest.length, 0, "the streaming list's stream carries on as the watch");
    assert.equal(watch?.sendInitialEvents, true);
    assert.equal(watch?.resourceVersionMatch, "NotOlderThan");
    assert.equal(watch?.allowWatchBookmarks, true);
    assert.equal(inf.stats().listMode, "streaming");
    assert.equal(inf.stats().lists, 1);
    await inf.stop();
    assert.equal(source.openStreams, 0);
  });

  test("paginated lists of 500 with continue tokens, then a watch from the list's version", async () => {
    const source = new FakeSource();
    for (let i = 0; i < 1234; i++) source.put(cm("a", `cm-${String(i).padStart(4, "0")}`));
    const listVersion = source.resourceVersion;
    const inf = informer(source, { streamingList: false });
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.store.size, 1234);
    const pages = lists(source.requests).map((r) => r.request);
    assert.equal(pages.length, 3);
    assert.deepEqual(
      pages.map((p) => [p.limit, p.continue !== undefined]),
      [
        [500, false],
        [500, true],
        [500, true],
      ],
    );
    assert.equal(pages[0]?.resourceVersion, undefined, "a consistent read of the latest state");
    await waitFor(() => watches(source.requests).length === 1, "the watch");
    const [watch] = watches(source.requests);
    assert.equal(watch?.resourceVersion, listVersion);
    assert.equal(watch?.allowWatchBookmarks, true);
    assert.equal(watch?.sendInitialEvents, undefined);
    // List items come without apiVersion and kind; the informer fills them in.
    const item = inf.store.get("a/cm-0000");
    assert.equal(item?.kind, "ConfigMap");
    assert.equal(item?.apiVersion, "v1");
    assert.equal(inf.stats().listMode, "paginated");
    await inf.stop();
  });

  test("falls back to paginated lists for good when the server refuses streaming lists", async () => {
    const source = new FakeSource({ streamingLists: false });
    source.put(cm("a", "one"));
    const inf = informer(source);
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    assert.deepEqual(events, ["add a/one initial"]);
    assert.equal(inf.stats().listMode, "paginated");
    await waitFor(() => source.requests.length === 3, "the watch");
    assert.deepEqual(
      source.requests.map(
        (r) => `${r.verb}${r.verb === "watch" && r.request.sendInitialEvents ? "+initial" : ""}`,
      ),
      ["watch+initial", "list", "watch"],
    );
    // A later relist goes straight to a paginated list.
    source.closeWatches();
    source.put(cm("a", "two"));
    source.compact();
    await waitFor(() => inf.stats().lists === 2, "the relist");
    assert.equal(watches(source.requests).filter((w) => w.sendInitialEvents).length, 1);
    await inf.stop();
  });

  test("a streaming list that fails before its end is followed by a paginated list", async () => {
    const source = new FakeSource();
    source.put(cm("a", "one"));
    source.watchFailures.push(
      new ServerError({ request: { verb: "watch" }, code: 500, detail: "etcd hiccup" }),
    );
    const inf = informer(source);
    inf.start();
    await inf.waitForSync();
    await waitFor(() => source.requests.length === 3, "the watch");
    assert.deepEqual(
      source.requests.map(
        (r) => `${r.verb}${r.verb === "watch" && r.request.sendInitialEvents ? "+initial" : ""}`,
      ),
      ["watch+initial", "list", "watch"],
    );
    assert.equal(inf.stats().restarts.error, 1);
    assert.equal(inf.stats().listMode, "streaming", "streaming lists stay on for later relists");
    await inf.stop();
  });

  test("a continue token that expires midway leads to one unpaginated list", async () => {
    const source = new FakeSource();
    for (let i = 0; i < 25; i++) source.put(cm("a", `cm-${i}`));
    let pages = 0;
    const client: ListWatchClient = {
      list: async (type, request) => {
        const page = await source.list(type, request);
        if (++pages === 1) {
          source.put(cm("a", "late"));
          source.compact(); // expires the continue token
        }
        return page;
      },
      watch: (type, request) => source.watch(type, request),
    };
    const inf = informer(client, { streamingList: false, pageSize: 10 });
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.store.size, 26);
    assert.deepEqual(
      lists(source.requests).map((r) => [r.request.limit, r.request.continue !== undefined]),
      [
        [10, false],
        [10, true],
        [undefined, false],
      ],
    );
    await inf.stop();
  });
});

describe("watch recovery", () => {
  test("resumes from the last resource version (bookmarks included) after the server ends the stream", async () => {
    const source = new FakeSource();
    source.put(cm("a", "one"));
    const inf = informer(source, { namespace: "a" });
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    source.put(cm("a", "one", { v: "2" }));
    source.put(cm("elsewhere", "x")); // outside the selection: moves the version on
    source.bookmark();
    const bookmarked = source.resourceVersion;
    await waitFor(() => inf.stats().resourceVersion === bookmarked, "the bookmark");

    source.closeWatches();
    // Changes while no watch is open: the resumed watch must replay them, once each.
    source.put(cm("a", "two"));
    source.remove("a/one");
    await waitFor(() => events.length === 4, "the replayed changes");
    assert.deepEqual(events, ["add a/one initial", "update a/one", "add a/two", "delete a/one"]);
    const resumed = watches(source.requests)[1];
    assert.equal(resumed?.resourceVersion, bookmarked);
    assert.equal(resumed?.sendInitialEvents, undefined);
    assert.equal(inf.stats().lists, 1, "no relist");
    assert.equal(inf.stats().restarts.closed, 1);
    await inf.stop();
  });

  test("a broken stream resumes from the last version after a backoff, without relisting", async () => {
    const source = new FakeSource();
    const inf = informer(source);
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    source.put(cm("a", "one"));
    await waitFor(() => events.length === 1, "the add");
    source.breakWatches();
    source.put(cm("a", "one", { v: "2" }));
    await waitFor(() => events.length === 2, "the replayed update");
    assert.deepEqual(events, ["add a/one", "update a/one"]);
    assert.equal(inf.stats().restarts.error, 1);
    assert.equal(inf.stats().lists, 1);
    await inf.stop();
  });

  for (const goneAs of ["http", "event"] as const) {
    test(`410 Gone (${goneAs === "http" ? "HTTP status" : "ERROR event"}) leads to a relist that emits only the differences`, async () => {
      const source = new FakeSource({ goneAs });
      source.put(cm("a", "kept"));
      source.put(cm("a", "changed"));
      source.put(cm("a", "vanished"));
      const restarts: RestartInfo[] = [];
      const inf = informer(source, {
        observer: { restarted: (_id, info) => restarts.push(info) },
      });
      const events = recorder(inf);
      inf.start();
      await inf.waitForSync();
      events.length = 0;

      source.closeWatches();
      source.put(cm("a", "changed", { v: "2" }));
      source.remove("a/vanished");
      source.put(cm("a", "new"));
      source.compact();

      await waitFor(() => inf.stats().lists === 2 && events.length === 3, "the relist");
      assert.deepEqual(events.sort(), [
        "add a/new",
        "delete a/vanished unknown",
        "update a/changed",
      ]);
      assert.deepEqual(inf.store.keys().sort(), ["a/changed", "a/kept", "a/new"]);
      assert.equal(inf.stats().restarts.gone, 1);
      await waitFor(() => restarts.some((r) => r.reason === "gone"), "the observer");
      const gone = restarts.find((r) => r.reason === "gone")!;
      assert.equal(gone.relist, true);
      assert.equal(gone.delayMs, 0, "the first 410 relists at once");
      await inf.stop();
      assert.equal(source.openStreams, 0);
    });
  }

  test("a 410 straight after a relist backs off instead of looping", async () => {
    const source = new FakeSource({ streamingLists: false });
    const gone = () =>
      new GoneError({
        request: { verb: "watch" },
        code: 410,
        status: { kind: "Status", apiVersion: "v1", code: 410, reason: "Expired" },
      });
    source.watchFailures.push(gone(), gone(), gone());
    const restarts: RestartInfo[] = [];
    const inf = informer(source, {
      streamingList: false,
      observer: { restarted: (_id, info) => restarts.push(info) },
    });
    inf.start();
    await waitFor(() => inf.stats().restarts.gone === 3, "three 410s");
    await inf.waitForSync();
    assert.deepEqual(
      restarts.map((r) => r.delayMs),
      [0, 5, 10],
    );
    await inf.stop();
  });

  test("a silent watch is detected, its stream released, and the missed change delivered", async () => {
    const source = new FakeSource();
    const inf = informer(source, { silenceTimeoutMs: 50 });
    const events = recorder(inf);
    inf.start();
    await inf.waitForSync();
    source.silenceWatches(); // the open watch now receives nothing, like a dead connection
    source.put(cm("a", "during-silence"));
    await waitFor(() => events.length === 1, "the change after the restart");
    assert.deepEqual(events, ["add a/during-silence"]);
    assert.ok(inf.stats().restarts.silence >= 1);
    assert.equal(inf.stats().lists, 1, "a resume, not a relist");
    assert.ok(source.openStreams <= 1, "the silent stream was released");
    await inf.stop();
    assert.equal(source.openStreams, 0);
  });

  test("bookmarks keep a quiet watch alive", async () => {
    const source = new FakeSource();
    const inf = informer(source, { silenceTimeoutMs: 200 });
    inf.start();
    await inf.waitForSync();
    for (let i = 0; i < 20; i++) {
      source.bookmark();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal(inf.stats().restarts.silence, 0);
    await inf.stop();
  });

  test("failures back off exponentially, then the informer recovers", async () => {
    const source = new FakeSource();
    const failure = () => new ServerError({ request: { verb: "list" }, code: 500 });
    source.listFailures.push(failure(), failure(), failure());
    source.put(cm("a", "one"));
    const restarts: RestartInfo[] = [];
    const inf = informer(source, {
      streamingList: false,
      observer: { restarted: (_id, info) => restarts.push(info) },
    });
    inf.start();
    await inf.waitForSync();
    assert.deepEqual(
      restarts.map((r) => [r.reason, r.delayMs, r.relist]),
      [
        ["error", 5, true],
        ["error", 10, true],
        ["error", 20, true],
      ],
    );
    assert.equal(inf.store.size, 1);
    await inf.stop();
  });

  test("a type that is not served (404) is said once, polled for, and picked up when it appears", async () => {
    const Widget: ResourceType = {
      apiVersion: "example.com/v1",
      kind: "Widget",
      plural: "widgets",
      namespaced: true,
    };
    const source = new FakeSource();
    const notFound = () =>
      new NotFoundError({ request: { verb: "list", resource: "widgets" }, code: 404 });
    source.listFailures.push(...Array.from({ length: 8 }, notFound));
    const lines: { level: string; message: string }[] = [];
    const log = (level: string) => (_fields: object, message: string) => {
      lines.push({ level, message });
    };
    const restarts: RestartInfo[] = [];
    const inf = informer(source, {
      type: Widget,
      streamingList: false,
      backoff: { initialMs: 3000, maxMs: 30_000 },
      logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
      observer: { restarted: (_id, info) => restarts.push(info) },
    });
    inf.start();
    // The backoff alone would wait 3 s, then 6 s, then more; a type not served is polled every 5 s.
    await waitFor(() => restarts.length >= 2, "two retries", 30_000);
    assert.ok(
      restarts.every((r) => r.delayMs <= 5_000),
      JSON.stringify(restarts.map((r) => r.delayMs)),
    );
    await inf.stop();
    const warnings = lines.filter((line) => line.level === "warn");
    assert.equal(warnings.length, 1, "said once");
    assert.equal(
      warnings[0]?.message,
      "the API server does not serve Widget (widgets.example.com v1): its CustomResourceDefinition is not installed. " +
        "`operon install <module>` installs the CRDs of a module's operators. Waiting for it to appear",
    );
  });

  test("once the type is served, the informer syncs and says so", async () => {
    const source = new FakeSource();
    const notFound = () =>
      new NotFoundError({ request: { verb: "list", resource: "configmaps" }, code: 404 });
    source.listFailures.push(notFound(), notFound());
    source.put(cm("a", "one"));
    const lines: string[] = [];
    const log = (_fields: object, message: string) => {
      lines.push(message);
    };
    const inf = informer(source, {
      streamingList: false,
      logger: { debug: log, info: log, warn: log, error: log },
    });
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.store.size, 1);
    assert.equal(lines.filter((line) => line.includes("does not serve")).length, 1);
    assert.match(
      lines.find((line) => line.includes("does not serve")) ?? "",
      /does not serve ConfigMap \(configmaps v1\): the API is not enabled there/,
    );
    assert.ok(lines.includes("the resource type is served now; listed it"));
    await inf.stop();
  });

  test("a stream the server ends at once without events counts as a failure", async () => {
    const source = new FakeSource();
    let opened = 0;
    const client: ListWatchClient = {
      list: (type, request) => source.list(type, request),
      watch: (type, request) => {
        if (!request.sendInitialEvents && ++opened <= 2) {
          return (async function* () {})() as AsyncIterable<ListWatchEvent<never>>;
        }
        return source.watch(type, request);
      },
    };
    const inf = informer(client, { streamingList: false, minWatchDurationMs: 1000 });
    inf.start();
    await inf.waitForSync();
    await waitFor(() => inf.stats().restarts.error === 2, "two short watches");
    assert.equal(inf.stats().restarts.closed, 0);
    await inf.stop();
  });

  test("a stream that opens only after the watch was given up is released", async () => {
    const source = new FakeSource();
    let release: (() => void) | undefined;
    let closed = 0;
    const client: ListWatchClient = {
      list: (type, request) => source.list(type, request),
      watch: async (type, request) => {
        if (request.sendInitialEvents) return source.watch(type, request);
        // Opening hangs and ignores the signal, then succeeds late.
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return {
          close: () => closed++,
          [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => {}) }),
        } as unknown as AsyncIterable<ListWatchEvent<never>>;
      },
    };
    const inf = informer(client);
    inf.start();
    await inf.waitForSync();
    source.closeWatches(); // the resumed watch is the one that hangs
    await waitFor(() => release !== undefined, "the hanging open");
    await inf.stop();
    release!();
    await waitFor(() => closed === 1, "the late stream to be closed");
  });

  test("stop ends a watch whose iterator ignores the abort signal", async () => {
    const client: ListWatchClient = {
      list: async <T extends KubeObject>() => ({
        apiVersion: "v1",
        kind: "ConfigMapList",
        metadata: { resourceVersion: "1" },
        items: [] as T[],
      }),
      watch: () => ({
        [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => {}) }),
      }),
    };
    const inf = informer(client, { streamingList: false });
    inf.start();
    await inf.waitForSync();
    await inf.stop();
    assert.equal(inf.running, false);
  });

  test("stop during a backoff returns promptly", async () => {
    const source = new FakeSource();
    source.listFailures.push(new ServerError({ request: { verb: "list" }, code: 500 }));
    const inf = informer(source, {
      streamingList: false,
      backoff: { initialMs: 3_600_000, maxMs: 3_600_000 },
    });
    inf.start();
    await waitFor(() => inf.stats().restarts.error === 1, "the failure");
    await inf.stop();
    assert.equal(inf.running, false);
  });
});

describe("requests", () => {
  test("the selection, metadata-only mode and a random 5–10 minute server timeout are sent", async () => {
    const source = new FakeSource({ streamingLists: false });
    const inf = track(
      new Informer<KubeObject>({
        client: source,
        type: ConfigMap,
        namespace: "a",
        labelSelector: "app=web",
        metadataOnly: true,
        random: () => 0.5,
        streamingList: true,
        listFromCache: false,
      }),
    );
    inf.start();
    await inf.waitForSync();
    await waitFor(() => source.requests.length === 3, "the watch");
    for (const request of source.requests) {
      assert.equal(request.request.namespace, "a");
      assert.equal(request.request.labelSelector, "app=web");
      assert.equal(request.request.metadataOnly, true);
    }
    const [watch] = watches(source.requests).filter((w) => !w.sendInitialEvents);
    assert.equal(watch?.timeoutSeconds, 450);
    await inf.stop();
  });

  test("metadata-only list items without a kind are named PartialObjectMetadata", async () => {
    const client: ListWatchClient = {
      list: async <T extends KubeObject>() => ({
        apiVersion: "meta.k8s.io/v1",
        kind: "PartialObjectMetadataList",
        metadata: { resourceVersion: "7" },
        items: [{ metadata: { namespace: "a", name: "x", resourceVersion: "7" } } as T],
      }),
      watch: (_type, request) => ({
        [Symbol.asyncIterator]: () => ({
          next: () =>
            new Promise((resolve) =>
              request.signal.addEventListener("abort", () =>
                resolve({ done: true, value: undefined }),
              ),
            ),
        }),
      }),
    };
    const inf = informer(client, { streamingList: false, metadataOnly: true });
    inf.start();
    await inf.waitForSync();
    assert.equal(inf.store.get("a/x")?.kind, "PartialObjectMetadata");
    assert.equal(inf.store.get("a/x")?.apiVersion, "meta.k8s.io/v1");
    await inf.stop();
  });
});
