import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBucket } from "./rate-limiter.ts";

describe("TokenBucket", () => {
  it("defaults to 10 per second with bursts of 100", () => {
    const bucket = new TokenBucket();
    assert.equal(bucket.qps, 10);
    assert.equal(bucket.burst, 100);
    const waits = Array.from({ length: 103 }, () => bucket.reserve(0));
    assert.ok(waits.slice(0, 100).every((w) => w === 0));
    assert.deepEqual(waits.slice(100), [100, 200, 300]);
  });

  it("spaces reservations 1/qps apart once the burst is spent", () => {
    const bucket = new TokenBucket({ qps: 4, burst: 2 });
    assert.deepEqual(
      [0, 0, 0, 0, 0].map((now) => bucket.reserve(now)),
      [0, 0, 250, 500, 750],
    );
  });

  it("refills with time, up to the burst", () => {
    const bucket = new TokenBucket({ qps: 10, burst: 3 });
    for (let i = 0; i < 3; i++) assert.equal(bucket.reserve(0), 0);
    assert.equal(bucket.reserve(0), 100); // balance -1
    // 250 ms later: +2.5 tokens → 1.5, so one goes at once and the next waits 50 ms.
    assert.equal(bucket.reserve(250), 0);
    assert.equal(bucket.reserve(250), 50);
    // A long idle period refills to the burst, not beyond.
    const later = 1_000_000;
    assert.deepEqual(
      [later, later, later, later].map((now) => bucket.reserve(now)),
      [0, 0, 0, 100],
    );
  });

  it("ignores a clock reading earlier than the last one", () => {
    const bucket = new TokenBucket({ qps: 1, burst: 1 });
    assert.equal(bucket.reserve(5000), 0);
    assert.equal(bucket.reserve(1000), 1000);
  });

  it("rejects nonsensical options", () => {
    assert.throws(() => new TokenBucket({ qps: 0 }), RangeError);
    assert.throws(() => new TokenBucket({ burst: 0 }), RangeError);
    assert.throws(() => new TokenBucket({ burst: 1.5 }), RangeError);
  });
});
