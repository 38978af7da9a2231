/**
 * The string pool and the interning of cached objects' repeating fields.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../resources/object.ts";
import { internStrings, StringPool } from "./intern.ts";
import { defaultTransform } from "./transform.ts";

function child(index: number): KubeObject {
  return JSON.parse(
    JSON.stringify({
      apiVersion: "example.operon.dev/v1",
      kind: "Widget",
      metadata: {
        name: `w-${index}`,
        namespace: "a-rather-long-namespace-name",
        uid: `uid-${index}`,
        creationTimestamp: "2026-12-05T10:00:00Z",
        labels: { "app.kubernetes.io/managed-by": "widgets", tier: "backend" },
        finalizers: ["example.operon.dev/cleanup"],
        ownerReferences: [
          { apiVersion: "example.operon.dev/v1", kind: "WidgetSet", name: "set", uid: "owner" },
        ],
        managedFields: [{ manager: "widgets", operation: "Apply" }],
      },
      status: {
        conditions: [
          { type: "Ready", status: "True", reason: "Running", message: "all replicas are up" },
        ],
      },
    }),
  ) as KubeObject;
}

describe("StringPool", () => {
  test("keeps one copy per distinct string", () => {
    const pool = new StringPool();
    assert.equal(pool.intern(["ab", "c"].join("")), "abc");
    assert.equal(pool.intern(["a", "bc"].join("")), "abc");
    assert.equal(pool.size, 1);
  });

  test("starts over when full, so it never grows past its limit", () => {
    const pool = new StringPool(3);
    for (const value of ["a", "b", "c", "d", "e"]) pool.intern(value);
    assert.ok(pool.size <= 3);
    assert.equal(pool.intern("e"), "e");
  });
});

describe("internStrings", () => {
  test("repeating fields of many objects take one pool entry each; values are unchanged", () => {
    const pool = new StringPool();
    const objects = Array.from({ length: 100 }, (_, index) => internStrings(child(index), pool));
    assert.deepEqual(objects[7], { ...child(7) }, "the object reads the same");
    // apiVersion, kind, namespace, time, 2 label values, finalizer, owner kind, and the four
    // condition strings: 12 distinct strings, however many objects.
    assert.equal(pool.size, 12);
  });

  test("names, UIDs and data are not interned", () => {
    const pool = new StringPool();
    internStrings(child(1), pool);
    internStrings(child(2), pool);
    assert.equal(pool.size, 12);
  });

  test("the informers' default transform drops managedFields and interns", () => {
    const stored = defaultTransform(child(3));
    assert.equal(stored.metadata.managedFields, undefined);
    assert.equal(stored.metadata.namespace, "a-rather-long-namespace-name");
    assert.deepEqual(stored.metadata.labels, {
      "app.kubernetes.io/managed-by": "widgets",
      tier: "backend",
    });
  });
});
