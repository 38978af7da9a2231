/**
 * The pure parts of Metacontroller's contract: Go's JSON encoding of requests, the object map
 * key formats, label selectors, response decoding checks, revision names and patches, and the
 * decorator's label and annotation patches.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../resources/object.ts";
import { mapPatch } from "./decorator.ts";
import { formatGoDuration, goController, goJson, Ordered, parseGoDuration } from "./go-json.ts";
import { checkResponse, duplicateKeys, ResponseShapeError } from "./json-check.ts";
import { buildObjectMap, groupKey, objectMapKey } from "./object-map.ts";
import { applyPatch, makePatch, revisionName } from "./revisions.ts";
import { isEmptySelector, matchEverything, SelectorError, selectorMatcher } from "./selector.ts";

function object(
  name: string,
  namespace?: string,
  kind = "ConfigMap",
  apiVersion = "v1",
): KubeObject {
  return { apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } };
}

describe("Go's JSON encoding", () => {
  test("sorts map keys and escapes <, >, &, U+2028 and U+2029 as Go does", () => {
    assert.equal(
      goJson({ b: [1, { z: true, a: null }], a: "<a&b>", c: "\u2028" }),
      '{"a":"\\u003ca\\u0026b\\u003e","b":[1,{"a":null,"z":true}],"c":"\\u2028"}',
    );
    assert.equal(goJson({ skip: undefined, keep: 0 }), '{"keep":0}');
  });

  test("keeps the order of Go structs", () => {
    assert.equal(
      goJson(
        new Ordered([
          ["z", 1],
          ["a", { y: 2, b: 3 }],
        ]),
      ),
      '{"z":1,"a":{"b":3,"y":2}}',
    );
  });

  test("writes the controller as Metacontroller's types: field order, status {}, statusChecks {}, Go durations", () => {
    const controller = {
      apiVersion: "metacontroller.k8s.io/v1alpha1",
      kind: "CompositeController",
      metadata: { uid: "u", name: "cc", generation: 2, creationTimestamp: "2024-01-01T00:00:00Z" },
      spec: {
        hooks: { sync: { webhook: { timeout: "1500ms", url: "http://h/sync" }, version: "v1" } },
        childResources: [
          { resource: "pods", apiVersion: "v1", updateStrategy: { method: "InPlace" } },
          { resource: "services", apiVersion: "v1" },
        ],
        parentResource: { resource: "things", apiVersion: "example.com/v1" },
      },
    };
    assert.equal(
      goJson(goController(controller)),
      '{"kind":"CompositeController","apiVersion":"metacontroller.k8s.io/v1alpha1",' +
        '"metadata":{"name":"cc","uid":"u","generation":2,"creationTimestamp":"2024-01-01T00:00:00Z"},' +
        '"spec":{"parentResource":{"apiVersion":"example.com/v1","resource":"things"},' +
        '"childResources":[{"apiVersion":"v1","resource":"pods","updateStrategy":{"method":"InPlace","statusChecks":{}}},' +
        '{"apiVersion":"v1","resource":"services"}],' +
        '"hooks":{"sync":{"version":"v1","webhook":{"url":"http://h/sync","timeout":"1.5s"}}}},' +
        '"status":{}}',
    );
  });

  test("parses and prints Go durations", () => {
    assert.equal(parseGoDuration("10s"), 10_000);
    assert.equal(parseGoDuration("1m30s"), 90_000);
    assert.equal(parseGoDuration("1.5h"), 5_400_000);
    assert.equal(parseGoDuration("250ms"), 250);
    assert.throws(() => parseGoDuration("10"), /invalid duration/);
    assert.equal(formatGoDuration(10_000), "10s");
    assert.equal(formatGoDuration(90_000), "1m30s");
    assert.equal(formatGoDuration(3_600_000), "1h0m0s");
    assert.equal(formatGoDuration(1.5), "1.5ms");
    assert.equal(formatGoDuration(0), "0s");
  });
});

describe("object maps", () => {
  test("groups are <Kind>.<apiVersion>", () => {
    assert.equal(groupKey("v1", "Pod"), "Pod.v1");
    assert.equal(groupKey("apps/v1", "StatefulSet"), "StatefulSet.apps/v1");
  });

  test("v1 keys are relative to the parent, v2 keys are uniform", () => {
    const pod = object("my-pod", "my-namespace");
    const node = object("n1", undefined, "Node");
    assert.equal(objectMapKey("v1", "my-namespace", pod), "my-pod");
    assert.equal(objectMapKey("v1", undefined, pod), "my-namespace/my-pod");
    assert.equal(objectMapKey("v2", "my-namespace", pod), "my-namespace/my-pod");
    assert.equal(objectMapKey("v2", undefined, pod), "my-namespace/my-pod");
    assert.equal(objectMapKey("v1", undefined, node), "n1");
    assert.equal(objectMapKey("v2", undefined, node), "n1");
  });

  test("every declared group is present, even empty", () => {
    const map = buildObjectMap("v1", "ns", ["ConfigMap.v1", "Secret.v1"], [object("a", "ns")]);
    assert.deepEqual(Object.keys(map).sort(), ["ConfigMap.v1", "Secret.v1"]);
    assert.deepEqual(map["Secret.v1"], {});
    assert.equal(map["ConfigMap.v1"]!.a!.metadata.name, "a");
  });
});

describe("label selectors", () => {
  test("matchLabels and matchExpressions, as apimachinery evaluates them", () => {
    const matches = selectorMatcher({
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["a", "b"] },
        { key: "legacy", operator: "DoesNotExist" },
        { key: "zone", operator: "NotIn", values: ["x"] },
      ],
    });
    assert.equal(matches({ app: "web", tier: "a" }), true);
    assert.equal(matches({ app: "web", tier: "c" }), false);
    assert.equal(matches({ app: "web", tier: "b", legacy: "" }), false);
    assert.equal(matches({ app: "web", tier: "b", zone: "x" }), false);
    assert.equal(matches(undefined), false);
  });

  test("missing selects what the caller says, empty selects everything", () => {
    assert.equal(selectorMatcher(undefined)({ a: "b" }), false);
    assert.equal(selectorMatcher(null, matchEverything)({ a: "b" }), true);
    assert.equal(selectorMatcher({})({}), true);
    assert.equal(isEmptySelector({ matchLabels: {} }), true);
    assert.equal(isEmptySelector({ matchLabels: { a: "b" } }), false);
  });

  test("malformed requirements are errors", () => {
    assert.throws(
      () => selectorMatcher({ matchExpressions: [{ key: "a", operator: "In" }] }),
      SelectorError,
    );
    assert.throws(
      () =>
        selectorMatcher({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }),
      SelectorError,
    );
    assert.throws(
      () => selectorMatcher({ matchExpressions: [{ key: "a", operator: "Like" as never }] }),
      /not a valid label selector operator/,
    );
  });
});

describe("response checks", () => {
  const fields = {
    status: "object",
    children: "objects",
    resyncAfterSeconds: "number",
    finalized: "boolean",
  } as const;

  test("types are enforced as Go's decoding does; null is allowed", () => {
    assert.deepEqual(checkResponse({ status: null, children: null }, fields), { unknown: [] });
    assert.throws(
      () => checkResponse({ status: [] }, fields),
      /cannot unmarshal array into Go struct field \.status/,
    );
    assert.throws(
      () => checkResponse({ resyncAfterSeconds: "1" }, fields),
      /cannot unmarshal string/,
    );
    assert.throws(() => checkResponse({ finalized: 1 }, fields), ResponseShapeError);
    assert.throws(
      () => checkResponse({ children: [{ apiVersion: "v1" }] }, fields),
      /Object 'Kind' is missing/,
    );
    assert.throws(() => checkResponse([], fields), ResponseShapeError);
  });

  test("unknown fields are listed (refused in strict mode only)", () => {
    assert.deepEqual(checkResponse({ status: {}, Status: {} }, fields).unknown, [
      'unknown field "Status"',
    ]);
    assert.deepEqual(
      checkResponse(
        { relatedResources: [{ apiVersion: "v1", resource: "pods", nme: [] }] },
        { relatedResources: "relatedRules" },
      ).unknown,
      ['unknown field "relatedResources[0].nme"'],
    );
    assert.throws(
      () => checkResponse({ labels: { a: 1 } }, { labels: "stringMap" }),
      /cannot unmarshal number into Go struct field \.labels\.a/,
    );
  });

  test("duplicate keys are found at any depth", () => {
    assert.deepEqual(duplicateKeys('{"a":1,"a":2}'), ["a"]);
    assert.deepEqual(duplicateKeys('{"status":{"x":1,"y":{"x":1},"x":"\\"x\\""}}'), ["status.x"]);
    assert.deepEqual(duplicateKeys('{"children":[{"kind":"A"},{"kind":"B","kind":"C"}]}'), [
      "children[1].kind",
    ]);
    assert.deepEqual(duplicateKeys('{"a":"}{","b":[1,2]}'), []);
  });
});

describe("revisions", () => {
  test("patches hold the revision fields; applying one restores them", () => {
    const parent = { spec: { template: { image: "a" }, replicas: 3 } };
    const patch = makePatch(parent, ["spec.template"]);
    assert.deepEqual(patch, { spec: { template: { image: "a" } } });
    const older = applyPatch({ spec: { template: { image: "b" }, replicas: 5 } }, patch, [
      "spec.template",
    ]);
    assert.deepEqual(older, { spec: { template: { image: "a" }, replicas: 5 } });
    assert.deepEqual(makePatch(parent, ["spec.missing"]), {});
  });

  test("names are <plural>.<group>-<sha1 of parent UID and patch>", () => {
    const resource = { plural: "catsets", group: "ctl.enisoc.com" } as never;
    assert.equal(
      revisionName(resource, "uid-1", '{"spec":{"template":{"a":1}}}'),
      "catsets.ctl.enisoc.com-0ca0afa9b03a1ecb4360c851b75642225f2829f9",
    );
    assert.match(
      revisionName({ plural: "things", group: "" } as never, "u", "{}"),
      /^things\.core-[0-9a-f]{40}$/,
    );
  });
});

describe("decorator patches", () => {
  test("sets changed keys, removes null ones, writes nothing when nothing changes", () => {
    assert.deepEqual(
      mapPatch("/metadata/labels", { a: "1", b: "2" }, { a: "1", b: null, "x/y": "3" }),
      [
        { op: "remove", path: "/metadata/labels/b" },
        { op: "add", path: "/metadata/labels/x~1y", value: "3" },
      ],
    );
    assert.deepEqual(mapPatch("/metadata/labels", { a: "1" }, { a: "1", gone: null }), []);
    assert.deepEqual(mapPatch("/metadata/labels", undefined, { a: "1", b: null }), [
      { op: "add", path: "/metadata/labels", value: { a: "1" } },
    ]);
    assert.deepEqual(mapPatch("/metadata/labels", { a: "1" }, null), []);
  });
});
