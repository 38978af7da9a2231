import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ExponentialBackoff } from "./backoff.ts";

describe("ExponentialBackoff", () => {
  it("defaults to 5 ms doubling up to 1000 s", () => {
    const backoff = new ExponentialBackoff({ jitter: 0 });
    assert.equal(backoff.baseMs, 5);
    assert.equal(backoff.maxMs, 1_000_000);
    const delays = Array.from({ length: 20 }, () => backoff.fail("k"));
    assert.deepEqual(delays.slice(0, 5), [5, 10, 20, 40, 80]);
    // 5 × 2^17 = 655,360 ms; the next doubling passes the cap.
    assert.equal(delays[17], 655_360);
    assert.equal(delays[18], 1_000_000);
    assert.equal(delays[19], 1_000_000);
    assert.equal(backoff.failures("k"), 20);
  });

  it("stays at the cap after any number of failures", () => {
    const backoff = new ExponentialBackoff({ jitter: 0 });
    let last = 0;
    for (let i = 0; i < 5000; i++) last = backoff.fail("k");
    assert.equal(last, 1_000_000);
  });

  it("keeps each key's history apart", () => {
    const backoff = new ExponentialBackoff({ jitter: 0, baseMs: 100 });
    backoff.fail("a");
    backoff.fail("a");
    assert.equal(backoff.fail("a"), 400);
    assert.equal(backoff.fail("b"), 100);
    assert.equal(backoff.failures("a"), 3);
    assert.equal(backoff.failures("b"), 1);
  });

  it("starts over after forget", () => {
    const backoff = new ExponentialBackoff({ jitter: 0 });
    for (let i = 0; i < 6; i++) backoff.fail("k");
    backoff.forget("k");
    assert.equal(backoff.failures("k"), 0);
    assert.equal(backoff.fail("k"), 5);
    assert.equal(backoff.fail("k"), 10);
  });

  it("honours a custom factor", () => {
    const backoff = new ExponentialBackoff({ jitter: 0, baseMs: 10, factor: 3, maxMs: 500 });
    assert.deepEqual(
      Array.from({ length: 5 }, () => backoff.fail("k")),
      [10, 30, 90, 270, 500],
    );
  });

  it("jitter only shortens, by at most the jitter fraction", () => {
    const low = new ExponentialBackoff({ jitter: 0.2, random: () => 0 });
    const high = new ExponentialBackoff({ jitter: 0.2, random: () => 0.999999 });
    assert.equal(low.fail("k"), 5);
    assert.ok(Math.abs(high.fail("k") - 4) < 1e-4);
    for (let i = 0; i < 40; i++) {
      low.fail("k");
      high.fail("k");
    }
    assert.equal(low.fail("k"), 1_000_000);
    const capped = high.fail("k");
    assert.ok(capped >= 800_000 && capped < 1_000_000, `${capped}`);
  });

  it("jittered delays fall within [d × (1 − jitter), d] and spread over it", () => {
    const backoff = new ExponentialBackoff({ jitter: 0.5 });
    const samples: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const key = `k${i}`;
      for (let n = 0; n < 4; n++) backoff.fail(key); // the 5th failure: d = 80 ms
      samples.push(backoff.fail(key));
    }
    for (const delay of samples) assert.ok(delay >= 40 && delay <= 80, `${delay}`);
    // Not all the same: both halves of the range are used.
    assert.ok(samples.some((d) => d < 50));
    assert.ok(samples.some((d) => d > 70));
  });

  it("rejects nonsensical options", () => {
    assert.throws(() => new ExponentialBackoff({ baseMs: 0 }), RangeError);
    assert.throws(() => new ExponentialBackoff({ baseMs: 10, maxMs: 5 }), RangeError);
    assert.throws(() => new ExponentialBackoff({ factor: 0.5 }), RangeError);
    assert.throws(() => new ExponentialBackoff({ jitter: 1 }), RangeError);
    assert.throws(() => new ExponentialBackoff({ jitter: -0.1 }), RangeError);
  });
});
