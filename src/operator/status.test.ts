/**
 * The memory of statuses just written, which keeps a reconcile that runs before the parent's
 * own status update reaches the cache from writing the same status again.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KubeObject } from "../resources/object.ts";
import { desiredStatus, RecentStatusWrites, statusDiffers } from "./status.ts";

function parent(resourceVersion: string, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "example.com/v1",
    kind: "Thing",
    metadata: { name: "a", namespace: "ns", resourceVersion, generation: 1 },
    ...(status ? { status } : {}),
  };
}

const synced = { status: "True", reason: "Synced", message: "ok" } as const;

describe("RecentStatusWrites", () => {
  test("while the cache holds the version a write was based on, the written status counts", () => {
    const recent = new RecentStatusWrites();
    const stale = parent("10");
    const wanted = desiredStatus(stale, { keys: 1 }, synced);
    assert.equal(statusDiffers(stale, wanted), true, "the stale parent has no status");
    recent.wrote("ns/a", stale, wanted);
    const current = recent.current("ns/a", stale);
    assert.equal(current.metadata.resourceVersion, "10");
    assert.equal(statusDiffers(current, desiredStatus(current, { keys: 1 }, synced)), false);
    // A different status is still a difference.
    assert.equal(statusDiffers(current, desiredStatus(current, { keys: 2 }, synced)), true);
  });

  test("once the cache shows a newer parent, the cache is the truth again", () => {
    const recent = new RecentStatusWrites();
    recent.wrote("ns/a", parent("10"), { keys: 1 });
    const newer = parent("12", { keys: 7 });
    assert.equal(recent.current("ns/a", newer), newer);
    assert.equal(recent.size, 0, "the entry is dropped");
    assert.equal(recent.current("ns/a", parent("10")).status, undefined);
  });

  test("entries expire, and writing sweeps the expired ones", () => {
    let now = 0;
    const recent = new RecentStatusWrites(() => now);
    recent.wrote("ns/a", parent("1"), { keys: 1 });
    recent.wrote("ns/b", parent("1"), { keys: 1 });
    now = RecentStatusWrites.ttlMs + 1;
    assert.equal(recent.current("ns/a", parent("1")).status, undefined, "expired");
    recent.wrote("ns/c", parent("1"), { keys: 1 });
    assert.equal(recent.size, 1, "ns/b was swept");
    recent.forget("ns/c");
    assert.equal(recent.size, 0);
  });
});
