import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeObject } from "../resources/object.ts";
import { finalizerStep } from "./finalizer.ts";

const finalizer = "cache.example.com/finalizer";

function parent(finalizers: string[] | undefined, deleting: boolean): KubeObject {
  return {
    apiVersion: "example.com/v1",
    kind: "Memcached",
    metadata: {
      name: "m",
      ...(finalizers ? { finalizers } : {}),
      ...(deleting ? { deletionTimestamp: "2030-01-01T00:00:00Z" } : {}),
    },
  };
}

describe("finalizerStep", () => {
  it("adds the finalizer before the first sync when Operon needs one", () => {
    assert.deepEqual(finalizerStep(parent(undefined, false), finalizer, true), {
      kind: "sync",
      addFinalizer: true,
    });
    assert.deepEqual(finalizerStep(parent(["other"], false), finalizer, false), {
      kind: "sync",
      addFinalizer: false,
    });
    assert.deepEqual(finalizerStep(parent([finalizer], false), finalizer, true), {
      kind: "sync",
      addFinalizer: false,
    });
  });

  it("cleans up a parent being deleted that carries the finalizer, and leaves others alone", () => {
    assert.deepEqual(finalizerStep(parent([finalizer, "other"], true), finalizer, true), {
      kind: "cleanup",
    });
    // Still cleaned up when the operator no longer needs a finalizer: it put it there.
    assert.deepEqual(finalizerStep(parent([finalizer], true), finalizer, false), {
      kind: "cleanup",
    });
    assert.deepEqual(finalizerStep(parent(["other"], true), finalizer, true), { kind: "released" });
  });
});
