import assert from "node:assert/strict";
import { test } from "node:test";
import { ReconnectBackoff } from "./backoff.ts";

test("delays double from 800 ms up to 30 s with jitter that only shortens them", () => {
  let now = 0;
  const backoff = new ReconnectBackoff(
    {},
    () => now,
    () => 0,
  );
  const delays: number[] = [];
  for (let i = 0; i < 9; i++) {
    delays.push(backoff.next());
    now += 1000;
  }
  assert.deepEqual(delays, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000, 30000]);

  const jittered = new ReconnectBackoff(
    {},
    () => now,
    () => 0.999,
  );
  const first = jittered.next();
  assert.ok(first > 800 * 0.8 - 1e-9 && first <= 800, `${first}`);
});

test("jitter spreads delays within [0.8 d, d]", () => {
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return (seed - 1) / 2147483646;
  };
  let now = 0;
  const backoff = new ReconnectBackoff({ initialMs: 1000, maxMs: 1000 }, () => now, random);
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const delay = backoff.next();
    now += 10;
    assert.ok(delay >= 800 && delay <= 1000, `${delay}`);
    seen.add(Math.round(delay));
  }
  assert.ok(seen.size > 10, "delays differ");
});

test("the run of failures is forgotten after a healthy spell", () => {
  let now = 0;
  const backoff = new ReconnectBackoff(
    { resetAfterMs: 120_000 },
    () => now,
    () => 0,
  );
  backoff.next();
  now += 1000;
  backoff.next();
  now += 1000;
  assert.equal(backoff.next(), 3200);
  assert.equal(backoff.failures, 3);
  now += 119_000;
  assert.equal(backoff.next(), 6400, "less than two minutes since the last failure");
  now += 120_000;
  assert.equal(backoff.next(), 800, "two minutes without failure: start over");
  backoff.next();
  backoff.reset();
  assert.equal(backoff.next(), 800);
});

test("invalid options are refused", () => {
  assert.throws(() => new ReconnectBackoff({ initialMs: -1 }), RangeError);
  assert.throws(() => new ReconnectBackoff({ initialMs: 10, maxMs: 5 }), RangeError);
  assert.throws(() => new ReconnectBackoff({ jitter: 1 }), RangeError);
  assert.throws(() => new ReconnectBackoff({ factor: 0.5 }), RangeError);
});
