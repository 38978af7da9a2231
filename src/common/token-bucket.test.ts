import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TokenBucket } from "./token-bucket.ts";

describe("TokenBucket", () => {
  test("allows a burst, then spaces reservations 1/qps apart", () => {
    const bucket = new TokenBucket({ qps: 4, burst: 2 });
    assert.deepEqual(
      [0, 0, 0, 0, 0].map((now) => bucket.reserve(now)),
      [0, 0, 250, 500, 750],
    );
  });

  test("refills with time, up to the burst; reservations still owed are paid first", () => {
    let now = 0;
    const bucket = new TokenBucket({ qps: 10, burst: 3, now: () => now });
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    assert.equal(Math.round(bucket.reserve()), 100); // balance -1
    // 250 ms later: +2.5 tokens → 1.5, so one goes at once and the next waits 50 ms.
    now = 250;
    assert.equal(bucket.reserve(), 0);
    assert.equal(Math.round(bucket.reserve()), 50);
    // A long idle period refills to the burst, not beyond.
    now = 1_000_000;
    assert.deepEqual(
      [bucket.reserve(), bucket.reserve(), bucket.reserve(), Math.round(bucket.reserve())],
      [0, 0, 0, 100],
    );
  });

  test("a caller's own clock reading is used, and one earlier than the last earns nothing", () => {
    const bucket = new TokenBucket({ qps: 1, burst: 1, now: () => 0 });
    assert.equal(bucket.reserve(5000), 0);
    assert.equal(bucket.reserve(1000), 1000);
  });

  test("tryTake takes a token only when one is there", () => {
    let now = 0;
    const bucket = new TokenBucket({ qps: 1, burst: 2, now: () => now });
    assert.deepEqual([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()], [true, true, false]);
    now = 500; // half a token: still none, and nothing is owed
    assert.equal(bucket.tryTake(), false);
    now = 1000;
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), false);
  });

  test("take waits for a token and can be aborted", async () => {
    // At 2 qps with a burst of 1, the second token is ~500 ms away however slow the machine is.
    const bucket = new TokenBucket({ qps: 2, burst: 1 });
    await bucket.take();
    const started = performance.now();
    await bucket.take();
    assert.ok(performance.now() - started >= 400);
    await assert.rejects(
      bucket.take(AbortSignal.timeout(10)),
      (err: unknown) => (err as Error).name === "TimeoutError",
    );
    // The abandoned reservation was given back: the next wait is one interval, not two.
    assert.ok(bucket.reserve() <= 500);
  });

  test("the burst defaults to the rate rounded up; nonsensical options are refused", () => {
    assert.equal(new TokenBucket({ qps: 2.5 }).burst, 3);
    assert.equal(new TokenBucket({ qps: 0.5 }).burst, 1);
    assert.throws(() => new TokenBucket({ qps: 0 }), RangeError);
    assert.throws(() => new TokenBucket({ qps: 1, burst: 0 }), RangeError);
    assert.throws(() => new TokenBucket({ qps: 1, burst: 1.5 }), RangeError);
  });
});
