import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  applyJsonPatch,
  createJsonPatch,
  escapePointerToken,
  parsePointer,
  unescapePointerToken,
} from "./json-patch.ts";

/** The patch must turn `before` into `after`, and leave `before` untouched. */
function roundTrip(before: unknown, after: unknown) {
  const snapshot = structuredClone(before);
  const patch = createJsonPatch(before, after);
  const patched = applyJsonPatch(before, JSON.parse(JSON.stringify(patch)));
  assert.deepEqual(patched, JSON.parse(JSON.stringify(after)));
  assert.deepEqual(before, snapshot);
  return patch;
}

describe("JSON pointer tokens", () => {
  test("escape ~ before /, so the escape of / is not escaped again", () => {
    assert.equal(escapePointerToken("a/b"), "a~1b");
    assert.equal(escapePointerToken("a~b"), "a~0b");
    assert.equal(escapePointerToken("~/"), "~0~1");
    assert.equal(escapePointerToken("~1"), "~01");
  });

  test("unescape reverses escape, reading ~01 as ~1 and not as /", () => {
    for (const token of ["", "plain", "a/b", "a~b", "~1", "~0", "/~/~~//", "example.com/owner"]) {
      assert.equal(unescapePointerToken(escapePointerToken(token)), token);
    }
    assert.equal(unescapePointerToken("~01"), "~1");
  });

  test("parsePointer splits and unescapes; the empty pointer is the whole document", () => {
    assert.deepEqual(parsePointer(""), []);
    assert.deepEqual(parsePointer("/"), [""]);
    assert.deepEqual(parsePointer("/metadata/labels/example.com~1team"), [
      "metadata",
      "labels",
      "example.com/team",
    ]);
    assert.throws(() => parsePointer("metadata"), /invalid JSON pointer/);
  });
});

describe("createJsonPatch", () => {
  test("equal documents give an empty patch", () => {
    const doc = { a: 1, b: [1, { c: null }], d: { e: "x" } };
    assert.deepEqual(createJsonPatch(doc, structuredClone(doc)), []);
  });

  test("adds, removes and replaces object members at their own paths", () => {
    const patch = roundTrip(
      { metadata: { name: "a", labels: { keep: "1", change: "old", drop: "x" } } },
      { metadata: { name: "a", labels: { keep: "1", change: "new", added: "y" } } },
    );
    assert.deepEqual(patch, [
      { op: "remove", path: "/metadata/labels/drop" },
      { op: "replace", path: "/metadata/labels/change", value: "new" },
      { op: "add", path: "/metadata/labels/added", value: "y" },
    ]);
  });

  test("escapes keys holding / and ~ (label and annotation keys)", () => {
    const patch = roundTrip(
      { metadata: { annotations: { "example.com/old": "1", "a~b": "1" } } },
      {
        metadata: {
          annotations: { "example.com/new": "2", "a~b": "2", "~/": "3" },
        },
      },
    );
    assert.deepEqual(patch, [
      { op: "remove", path: "/metadata/annotations/example.com~1old" },
      { op: "add", path: "/metadata/annotations/example.com~1new", value: "2" },
      { op: "replace", path: "/metadata/annotations/a~0b", value: "2" },
      { op: "add", path: "/metadata/annotations/~0~1", value: "3" },
    ]);
  });

  test("adds a whole missing subtree in one operation", () => {
    const patch = roundTrip({ metadata: {} }, { metadata: { labels: { a: "1", b: "2" } } });
    assert.deepEqual(patch, [{ op: "add", path: "/metadata/labels", value: { a: "1", b: "2" } }]);
  });

  test("members set to undefined count as absent, as in JSON", () => {
    assert.deepEqual(createJsonPatch({ a: 1 }, { a: 1, b: undefined }), []);
    assert.deepEqual(createJsonPatch({ a: 1, b: undefined }, { a: 1 }), []);
    assert.deepEqual(createJsonPatch({ a: 1 }, { a: undefined }), [{ op: "remove", path: "/a" }]);
  });

  test("null is a value, distinct from absence", () => {
    roundTrip({ a: null }, { a: 1 });
    roundTrip({ a: 1 }, { a: null });
    assert.deepEqual(createJsonPatch({}, { a: null }), [{ op: "add", path: "/a", value: null }]);
  });

  test("arrays of the same length are compared element by element", () => {
    const patch = roundTrip(
      { spec: { containers: [{ name: "a", image: "x:1" }, { name: "b" }] } },
      { spec: { containers: [{ name: "a", image: "x:2" }, { name: "b" }] } },
    );
    assert.deepEqual(patch, [{ op: "replace", path: "/spec/containers/0/image", value: "x:2" }]);
  });

  test("arrays whose length changed are replaced whole", () => {
    const patch = roundTrip({ finalizers: ["a"] }, { finalizers: ["a", "b"] });
    assert.deepEqual(patch, [{ op: "replace", path: "/finalizers", value: ["a", "b"] }]);
    roundTrip({ items: [1, 2, 3] }, { items: [] });
  });

  test("a change of type is a replace", () => {
    assert.deepEqual(createJsonPatch({ a: { b: 1 } }, { a: [1] }), [
      { op: "replace", path: "/a", value: [1] },
    ]);
    assert.deepEqual(createJsonPatch({ a: "1" }, { a: 1 }), [
      { op: "replace", path: "/a", value: 1 },
    ]);
    assert.deepEqual(createJsonPatch([1], { a: 1 }), [
      { op: "replace", path: "", value: { a: 1 } },
    ]);
  });

  test("a __proto__ member is data, diffed and applied like any other", () => {
    const before = JSON.parse('{"a":{}}');
    const after = JSON.parse('{"a":{"__proto__":{"polluted":true}}}');
    const patch = roundTrip(before, after);
    assert.deepEqual(patch, [{ op: "add", path: "/a/__proto__", value: { polluted: true } }]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test("a realistic object round-trips", () => {
    const before: {
      metadata: { labels?: Record<string, string> } & Record<string, unknown>;
      data: Record<string, string>;
      binaryData?: Record<string, string>;
    } & Record<string, unknown> = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "settings",
        namespace: "prod",
        labels: { app: "web" },
        managedFields: [{ manager: "kubectl", operation: "Update" }],
      },
      data: { "config.yaml": "a: 1\n", "feature/flag": "on" },
    };
    const after = structuredClone(before) as typeof before & {
      binaryData?: Record<string, string>;
    };
    after.metadata.labels = { app: "web", "example.com/managed": "true" };
    delete after.data["feature/flag"];
    after.data["new~key"] = "1";
    after.binaryData = { blob: "AAEC" };
    roundTrip(before, after);
  });
});

describe("applyJsonPatch", () => {
  test("add inserts into arrays by index and appends with -", () => {
    assert.deepEqual(applyJsonPatch({ a: [1, 3] }, [{ op: "add", path: "/a/1", value: 2 }]), {
      a: [1, 2, 3],
    });
    assert.deepEqual(applyJsonPatch({ a: [1] }, [{ op: "add", path: "/a/-", value: 2 }]), {
      a: [1, 2],
    });
  });

  test("remove, replace, move, copy and test", () => {
    const doc = { a: { b: 1 }, c: [1, 2] };
    assert.deepEqual(
      applyJsonPatch(doc, [
        { op: "test", path: "/a/b", value: 1 },
        { op: "copy", from: "/a", path: "/d" },
        { op: "move", from: "/a/b", path: "/c/0" },
        { op: "replace", path: "/d/b", value: 2 },
        { op: "remove", path: "/c/2" },
      ]),
      { a: {}, c: [1, 1], d: { b: 2 } },
    );
  });

  test("refuses operations that do not apply", () => {
    assert.throws(() => applyJsonPatch({}, [{ op: "remove", path: "/x" }]), /does not exist/);
    assert.throws(
      () => applyJsonPatch({}, [{ op: "replace", path: "/x", value: 1 }]),
      /does not exist/,
    );
    assert.throws(
      () => applyJsonPatch({ a: [] }, [{ op: "add", path: "/a/1", value: 1 }]),
      /out of bounds/,
    );
    assert.throws(
      () => applyJsonPatch({ a: [] }, [{ op: "add", path: "/a/01", value: 1 }]),
      /invalid array index/,
    );
    assert.throws(
      () => applyJsonPatch({ a: 1 }, [{ op: "test", path: "/a", value: 2 }]),
      /test failed/,
    );
    assert.throws(
      () => applyJsonPatch({ a: { b: 1 } }, [{ op: "move", from: "/a", path: "/a/b/c" }]),
      /into itself/,
    );
    assert.throws(
      () => applyJsonPatch({ a: 1 }, [{ op: "add", path: "/a/b", value: 1 }]),
      /not an object or array/,
    );
  });

  test("the whole document can be replaced", () => {
    assert.deepEqual(applyJsonPatch({ a: 1 }, [{ op: "replace", path: "", value: [1] }]), [1]);
  });
});
