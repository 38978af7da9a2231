import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultRetryLimiter } from "./rate-limiter.ts";

test("retries are limited to 10 per second with bursts of 100 by default", () => {
  const limiter = defaultRetryLimiter();
  const waits = Array.from({ length: 103 }, () => limiter.reserve(0));
  assert.ok(waits.slice(0, 100).every((wait) => wait === 0));
  assert.deepEqual(waits.slice(100), [100, 200, 300]);
});
