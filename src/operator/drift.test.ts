import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppliedMemory, isSubset, needsWrite, stableHash } from "./drift.ts";

describe("stableHash", () => {
  it("ignores key order and undefined keys, and keeps its value across releases", () => {
    const hash = stableHash({ b: 1, a: [1, { z: undefined, y: "x" }] });
    assert.equal(hash, stableHash({ a: [1, { y: "x" }], b: 1 }));
    // Children carry this hash in an annotation: a change of the encoding would rewrite every
    // child once after an upgrade.
    assert.equal(hash, "Uir1ty2ZlJmPrFj0_cQfcm");
    assert.notEqual(stableHash([1, 2]), stableHash([2, 1]));
    assert.notEqual(stableHash({ a: "1" }), stableHash({ a: 1 }));
  });
});

describe("needsWrite", () => {
  const desired = { data: { a: "1" }, metadata: { name: "x" } };
  const hash = stableHash(desired);
  const live = (data: Record<string, string>, annotation = hash) => ({
    metadata: {
      name: "x",
      uid: "u1",
      resourceVersion: "7",
      annotations: { "operon.dev/desired-hash": annotation },
    },
    data,
  });

  it("writes when the desired state changed or a managed field drifted", () => {
    const memory = new AppliedMemory();
    assert.equal(needsWrite(desired, hash, live({ a: "1" }, "old"), memory), true);
    assert.equal(needsWrite(desired, hash, live({ a: "2" }), memory), true);
    assert.equal(needsWrite(desired, hash, live({ a: "1", extra: "theirs" }), memory), false);
  });

  it("trusts the server's spelling of what it returned for the same desired state", () => {
    const memory = new AppliedMemory();
    memory.remember("u1", hash, "7");
    assert.equal(needsWrite(desired, hash, live({ a: "normalised" }), memory), false);
    assert.equal(isSubset(desired, live({ a: "normalised" })), false);
  });
});

describe("AppliedMemory", () => {
  it("keeps nothing for a child whose deletion was seen before its write's answer", () => {
    const memory = new AppliedMemory();
    memory.remember("a", "h1", "1");
    assert.equal(memory.size, 1);
    memory.gone("a");
    assert.equal(memory.size, 0);
    // A create that raced the garbage collector: its answer is handled after the delete event.
    memory.gone("b");
    memory.remember("b", "h1", "2");
    assert.equal(memory.size, 0);
    assert.equal(memory.matches("b", "h1", "2"), false);
  });
});
