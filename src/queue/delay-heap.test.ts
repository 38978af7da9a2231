import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DelayHeap } from "./delay-heap.ts";

/** Small deterministic PRNG so randomized cases are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function drain(heap: DelayHeap, now = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = [];
  for (let key = heap.popDue(now); key !== undefined; key = heap.popDue(now)) out.push(key);
  return out;
}

describe("DelayHeap", () => {
  it("pops keys in due-time order, and only those due", () => {
    const heap = new DelayHeap();
    heap.schedule("c", 30);
    heap.schedule("a", 10);
    heap.schedule("b", 20);
    assert.equal(heap.nextAt(), 10);
    assert.deepEqual(drain(heap, 20), ["a", "b"]);
    assert.equal(heap.size, 1);
    assert.equal(heap.popDue(29), undefined);
    assert.deepEqual(drain(heap, 30), ["c"]);
    assert.equal(heap.nextAt(), undefined);
  });

  it("keeps the earlier time when a key is scheduled twice", () => {
    const heap = new DelayHeap();
    assert.equal(heap.schedule("a", 50), true);
    assert.equal(heap.schedule("a", 80), false, "a later time is ignored");
    assert.equal(heap.dueAt("a"), 50);
    assert.equal(heap.schedule("a", 50), false, "the same time changes nothing");
    assert.equal(heap.schedule("a", 20), true, "an earlier time replaces it");
    assert.equal(heap.dueAt("a"), 20);
    assert.equal(heap.size, 1);
  });

  it("moves a key ahead of others when rescheduled earlier", () => {
    const heap = new DelayHeap();
    heap.schedule("a", 10);
    heap.schedule("b", 20);
    heap.schedule("c", 30);
    heap.schedule("c", 5);
    assert.deepEqual(drain(heap), ["c", "a", "b"]);
  });

  it("breaks ties by scheduling order", () => {
    const heap = new DelayHeap();
    for (const key of ["x", "y", "z", "w"]) heap.schedule(key, 100);
    assert.deepEqual(drain(heap), ["x", "y", "z", "w"]);
  });

  it("removes keys from any position", () => {
    const heap = new DelayHeap();
    for (let i = 0; i < 10; i++) heap.schedule(`k${i}`, i);
    assert.equal(heap.remove("k0"), true);
    assert.equal(heap.remove("k5"), true);
    assert.equal(heap.remove("k9"), true);
    assert.equal(heap.remove("k5"), false);
    assert.equal(heap.has("k5"), false);
    assert.equal(heap.dueAt("k5"), undefined);
    assert.deepEqual(drain(heap), ["k1", "k2", "k3", "k4", "k6", "k7", "k8"]);
  });

  it("clear empties it", () => {
    const heap = new DelayHeap();
    heap.schedule("a", 1);
    heap.schedule("b", 2);
    heap.clear();
    assert.equal(heap.size, 0);
    assert.equal(heap.has("a"), false);
    assert.equal(heap.popDue(10), undefined);
    heap.schedule("a", 3);
    assert.deepEqual(drain(heap), ["a"]);
  });

  it("matches a sorted model under 10,000 keys of random schedules and removals", () => {
    const random = seeded(42);
    const heap = new DelayHeap();
    const model = new Map<string, number>();
    for (let i = 0; i < 30_000; i++) {
      const key = `k${Math.floor(random() * 10_000)}`;
      if (random() < 0.15) {
        assert.equal(heap.remove(key), model.delete(key));
      } else {
        const at = Math.floor(random() * 1_000_000);
        const before = model.get(key);
        const changed = heap.schedule(key, at);
        assert.equal(changed, before === undefined || at < before);
        if (changed) model.set(key, at);
      }
    }
    assert.equal(heap.size, model.size);
    let previous = Number.NEGATIVE_INFINITY;
    let count = 0;
    for (;;) {
      const at = heap.nextAt();
      const key = heap.popDue(Number.POSITIVE_INFINITY);
      if (key === undefined) break;
      assert.equal(model.get(key), at, `due time of ${key}`);
      assert.ok(at! >= previous, "non-decreasing due times");
      previous = at!;
      count++;
    }
    assert.equal(count, model.size);
  });
});
