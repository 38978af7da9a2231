import assert from "node:assert/strict";
import { test } from "node:test";
import { parseGoDuration } from "./duration.ts";

test("parseGoDuration reads durations as Go writes them (and the API server sends)", () => {
  assert.equal(parseGoDuration("10s"), 10_000);
  assert.equal(parseGoDuration("1.5s"), 1_500);
  assert.equal(parseGoDuration("998.25ms"), 998.25);
  assert.equal(parseGoDuration("1m30s"), 90_000);
  assert.equal(parseGoDuration("1h"), 3_600_000);
  assert.equal(parseGoDuration("250us"), 0.25);
  assert.equal(parseGoDuration("250µs"), 0.25);
  for (const bad of ["", "10", "ten seconds", "10 s", "10x", "-1s", "s"]) {
    assert.equal(parseGoDuration(bad), undefined, bad);
  }
});
