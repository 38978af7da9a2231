import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../resources/object.ts";
import { CONTROLLER_INDEX, LABEL_INDEX, NAMESPACE_INDEX } from "./indexes.ts";
import { Store } from "./store.ts";

function obj(
  namespace: string | undefined,
  name: string,
  rv: string,
  extra: Partial<KubeObject["metadata"]> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { ...(namespace ? { namespace } : {}), name, resourceVersion: rv, ...extra },
  };
}

const owner = (uid: string, controller: boolean) => ({
  apiVersion: "apps/v1",
  kind: "ReplicaSet",
  name: `rs-${uid}`,
  uid,
  controller,
});

describe("Store", () => {
  test("keeps objects by namespace/name and name for cluster-scoped ones", () => {
    const store = new Store();
    store.upsert(obj("a", "x", "1"));
    store.upsert(obj(undefined, "node-1", "2"));
    assert.equal(store.size, 2);
    assert.equal(store.get("a/x")?.metadata.resourceVersion, "1");
    assert.equal(store.get("node-1")?.metadata.resourceVersion, "2");
    assert.deepEqual(store.keys().sort(), ["a/x", "node-1"]);
    assert.equal(store.list().length, 2);
    assert.equal(store.has("a/x"), true);
    const removed = store.remove("a/x");
    assert.equal(removed?.metadata.name, "x");
    assert.equal(store.has("a/x"), false);
    assert.equal(store.remove("a/x"), undefined);
    assert.equal(store.size, 1);
  });

  test("indexes by namespace, controller UID and label, and follows changes", () => {
    const store = new Store();
    store.upsert(
      obj("a", "x", "1", {
        labels: { app: "web", tier: "front" },
        ownerReferences: [owner("o1", false), owner("o2", true)],
      }),
    );
    store.upsert(obj("b", "y", "1", { labels: { app: "web" } }));
    store.upsert(obj(undefined, "cluster", "1", { labels: { app: "db" } }));

    assert.deepEqual(store.keysByIndex(NAMESPACE_INDEX, "a"), ["a/x"]);
    assert.deepEqual(store.indexValues(NAMESPACE_INDEX).sort(), ["a", "b"]);
    assert.deepEqual(store.keysByIndex(CONTROLLER_INDEX, "o2"), ["a/x"]);
    assert.deepEqual(
      store.keysByIndex(CONTROLLER_INDEX, "o1"),
      [],
      "non-controller owners are not indexed",
    );
    assert.deepEqual(
      store
        .byIndex(LABEL_INDEX, "app=web")
        .map((o) => o.metadata.name)
        .sort(),
      ["x", "y"],
    );

    // Relabel and change the controller: old entries go, empty values vanish.
    store.upsert(
      obj("a", "x", "2", { labels: { app: "api" }, ownerReferences: [owner("o3", true)] }),
    );
    assert.deepEqual(store.keysByIndex(LABEL_INDEX, "app=web"), ["b/y"]);
    assert.deepEqual(store.keysByIndex(LABEL_INDEX, "tier=front"), []);
    assert.ok(!store.indexValues(LABEL_INDEX).includes("tier=front"));
    assert.deepEqual(store.keysByIndex(CONTROLLER_INDEX, "o2"), []);
    assert.deepEqual(store.keysByIndex(CONTROLLER_INDEX, "o3"), ["a/x"]);

    store.remove("b/y");
    assert.deepEqual(store.keysByIndex(NAMESPACE_INDEX, "b"), []);
    assert.ok(!store.indexValues(NAMESPACE_INDEX).includes("b"));
  });

  test("an index value goes from one key to several and back, re-upserts add no duplicate", () => {
    const store = new Store();
    store.upsert(obj("a", "x", "1", { labels: { app: "web" } }));
    store.upsert(obj("a", "x", "2", { labels: { app: "web" } }));
    assert.deepEqual(store.keysByIndex(LABEL_INDEX, "app=web"), ["a/x"]);
    store.upsert(obj("a", "y", "1", { labels: { app: "web" } }));
    store.upsert(obj("a", "z", "1", { labels: { app: "web" } }));
    assert.deepEqual(store.keysByIndex(LABEL_INDEX, "app=web").sort(), ["a/x", "a/y", "a/z"]);
    store.remove("a/x");
    store.remove("a/z");
    assert.deepEqual(store.keysByIndex(LABEL_INDEX, "app=web"), ["a/y"]);
    assert.deepEqual(
      store.byIndex(LABEL_INDEX, "app=web").map((o) => o.metadata.name),
      ["y"],
    );
    store.upsert(obj("a", "y", "2", { labels: { app: "api" } }));
    assert.deepEqual(store.keysByIndex(LABEL_INDEX, "app=web"), []);
    assert.ok(!store.indexValues(LABEL_INDEX).includes("app=web"));
    store.remove("a/missing");
    assert.deepEqual(store.keysByIndex(LABEL_INDEX, "app=api"), ["a/y"]);
  });

  test("user index functions, added before or after objects", () => {
    const byName = (o: KubeObject) => [o.metadata.name ?? ""];
    const store = new Store({ indexers: { byName } });
    store.upsert(obj("a", "x", "1", { annotations: { team: "blue" } }));
    store.upsert(obj("b", "x", "1"));
    assert.equal(store.byIndex("byName", "x").length, 2);

    const byTeam = (o: KubeObject) => {
      const team = o.metadata.annotations?.team;
      return team ? [team] : [];
    };
    store.addIndexers({ byTeam });
    assert.deepEqual(store.keysByIndex("byTeam", "blue"), ["a/x"]);
    store.addIndexers({ byTeam }); // the same function again is fine
    assert.throws(() => store.addIndexers({ byTeam: () => [] }), /already exists/);
    assert.throws(() => store.byIndex("nope", "x"), /no index named "nope"/);
    assert.deepEqual(store.indexNames().sort(), [
      "byName",
      "byTeam",
      "controller",
      "label",
      "namespace",
    ]);
  });

  test("a throwing index function leaves the object out of that index only", () => {
    const failures: string[] = [];
    const store = new Store({
      indexers: {
        broken: (o) => {
          if (o.metadata.name === "bad") throw new Error("boom");
          return ["ok"];
        },
      },
      onIndexError: (index, key) => failures.push(`${index}:${key}`),
    });
    store.upsert(obj("a", "bad", "1"));
    store.upsert(obj("a", "good", "1"));
    assert.deepEqual(store.keysByIndex("broken", "ok"), ["a/good"]);
    assert.deepEqual(store.keysByIndex(NAMESPACE_INDEX, "a").sort(), ["a/bad", "a/good"]);
    assert.deepEqual(failures, ["broken:a/bad"]);
  });

  test("builtin indexes can be left out", () => {
    const store = new Store({ builtinIndexes: false });
    assert.deepEqual(store.indexNames(), []);
  });
});

describe("Store.replace (relist diff)", () => {
  test("vanished → delete with final state unknown, changed → update, unchanged → nothing, new → add", () => {
    const store = new Store();
    store.upsert(obj("a", "kept", "10", { uid: "u1" }));
    store.upsert(obj("a", "changed", "11", { uid: "u2" }));
    store.upsert(obj("a", "vanished", "12", { uid: "u3" }));
    const keptBefore = store.get("a/kept");

    const changes = store.replace([
      obj("a", "kept", "10", { uid: "u1" }),
      obj("a", "changed", "20", { uid: "u2" }),
      obj("a", "new", "21", { uid: "u4" }),
    ]);

    assert.deepEqual(
      changes.map((c) => [
        c.type,
        c.object.metadata.name,
        c.type === "delete" ? c.finalStateUnknown : undefined,
      ]),
      [
        ["delete", "vanished", true],
        ["update", "changed", undefined],
        ["add", "new", undefined],
      ],
    );
    const update = changes[1]!;
    assert.equal(update.type === "update" && update.old.metadata.resourceVersion, "11");
    assert.equal(store.get("a/kept"), keptBefore, "an unchanged object keeps its identity");
    assert.deepEqual(store.keys().sort(), ["a/changed", "a/kept", "a/new"]);
    assert.deepEqual(store.keysByIndex(NAMESPACE_INDEX, "a").sort(), [
      "a/changed",
      "a/kept",
      "a/new",
    ]);
  });

  test("resource versions are compared for equality only, never as numbers", () => {
    const store = new Store();
    store.upsert(obj("a", "x", "9"));
    // "10" < "9" as text and > as a number: either way it is a different version.
    assert.deepEqual(
      store.replace([obj("a", "x", "10")]).map((c) => c.type),
      ["update"],
    );
    // A "smaller" version is still just different (e.g. an etcd restored from backup).
    assert.deepEqual(
      store.replace([obj("a", "x", "2")]).map((c) => c.type),
      ["update"],
    );
    assert.deepEqual(store.replace([obj("a", "x", "2")]), []);
  });

  test("an object recreated under the same name is a delete of the old and an add of the new", () => {
    const store = new Store();
    store.upsert(obj("a", "x", "1", { uid: "old" }));
    const changes = store.replace([obj("a", "x", "5", { uid: "new" })]);
    assert.deepEqual(
      changes.map((c) => [c.type, c.object.metadata.uid]),
      [
        ["delete", "old"],
        ["add", "new"],
      ],
    );
    assert.equal(store.get("a/x")?.metadata.uid, "new");
  });

  test("replace into an empty store adds everything; with nothing removes everything", () => {
    const store = new Store();
    assert.equal(store.replace([obj("a", "x", "1"), obj("a", "y", "1")]).length, 2);
    const changes = store.replace([]);
    assert.deepEqual(
      changes.map((c) => c.type),
      ["delete", "delete"],
    );
    assert.equal(store.size, 0);
    assert.deepEqual(store.indexValues(NAMESPACE_INDEX), []);
  });
});
