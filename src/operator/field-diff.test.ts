import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  boundedValue,
  diffDesired,
  diffObjects,
  diffValues,
  formatPath,
  maxChanges,
} from "./field-diff.ts";

describe("field diffs", () => {
  it("names paths as people write them", () => {
    assert.equal(formatPath(["spec", "replicas"]), "spec.replicas");
    assert.equal(formatPath(["spec", "containers", 0, "image"]), "spec.containers[0].image");
    assert.equal(
      formatPath(["metadata", "labels", "app.kubernetes.io/name"]),
      'metadata.labels["app.kubernetes.io/name"]',
    );
  });

  it("lists changed, added and removed fields, without the server's bookkeeping", () => {
    const before = {
      metadata: { name: "a", resourceVersion: "1", generation: 1, labels: { old: "x" } },
      spec: { replicas: 3, paused: false },
      status: { ready: 1 },
    };
    const after = {
      metadata: { name: "a", resourceVersion: "2", generation: 2, labels: { new: "y" } },
      spec: { replicas: 5, template: { image: "nginx" } },
      status: { ready: 2 },
    };
    const { changes } = diffObjects(before, after, { withoutStatus: true });
    assert.deepEqual(
      changes.map((c) => [c.path, c.op, c.before, c.after]),
      [
        ["metadata.labels.old", "remove", "x", undefined],
        ["metadata.labels.new", "add", undefined, "y"],
        ["spec.replicas", "change", 3, 5],
        ["spec.paused", "remove", false, undefined],
        ["spec.template.image", "add", undefined, "nginx"],
      ],
    );
    assert.ok(diffObjects(before, after).changes.some((c) => c.path === "status.ready"));
  });

  it("keeps values and the number of changes bounded", () => {
    assert.match(String(boundedValue("x".repeat(1000))), /… \(1000 characters\)$/);
    assert.match(String(boundedValue({ data: "y".repeat(1000) })), /^\{… 1 fields, \d+ bytes\}$/);
    const many = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`k${i}`, i]));
    const diff = diffValues({}, many, ["data"]);
    assert.equal(diff.changes.length, maxChanges);
    assert.equal(diff.omitted, 80 - maxChanges);
    assert.equal(diff.changes[0]!.path, "data.k0");
  });

  it("tells which desired fields differ from the live object", () => {
    const { changes } = diffDesired(
      { metadata: { name: "a", labels: { a: "1" } }, spec: { replicas: 5, selector: { x: "y" } } },
      { metadata: { name: "a", uid: "u" }, spec: { replicas: 3, selector: { x: "y" }, extra: 1 } },
    );
    assert.deepEqual(
      changes.map((c) => [c.path, c.op, c.before, c.after]),
      [
        ["metadata.labels.a", "add", undefined, "1"],
        ["spec.replicas", "change", 3, 5],
      ],
    );
  });
});
