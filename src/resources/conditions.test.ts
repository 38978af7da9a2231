import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type Condition,
  findCondition,
  formatTime,
  isConditionTrue,
  removeCondition,
  setCondition,
} from "./conditions.ts";

const t0 = new Date("2024-05-01T12:00:00.123Z");
const t1 = new Date("2024-05-01T12:05:00Z");

test("setCondition appends a new condition with the transition time", () => {
  const list = setCondition(undefined, { type: "Ready", status: "False", reason: "Starting" }, t0);
  assert.deepEqual(list, [
    {
      type: "Ready",
      status: "False",
      lastTransitionTime: "2024-05-01T12:00:00Z",
      reason: "Starting",
      message: "",
    },
  ]);
});

test("setCondition keeps lastTransitionTime while the status is unchanged", () => {
  const before = setCondition([], { type: "Ready", status: "False", reason: "Starting" }, t0);
  const same = setCondition(
    before,
    { type: "Ready", status: "False", reason: "Scaling", message: "1/3", observedGeneration: 2 },
    t1,
  );
  assert.equal(same[0]?.lastTransitionTime, "2024-05-01T12:00:00Z");
  assert.equal(same[0]?.reason, "Scaling");
  assert.equal(same[0]?.message, "1/3");
  assert.equal(same[0]?.observedGeneration, 2);
  const changed = setCondition(same, { type: "Ready", status: "True", reason: "Ready" }, t1);
  assert.equal(changed[0]?.lastTransitionTime, "2024-05-01T12:05:00Z");
  assert.equal(changed[0]?.observedGeneration, undefined);
  assert.equal(before[0]?.reason, "Starting", "the input is not modified");
});

test("setCondition keeps order and other conditions", () => {
  let list: Condition[] = [];
  list = setCondition(list, { type: "Ready", status: "False", reason: "A" }, t0);
  list = setCondition(list, { type: "Degraded", status: "False", reason: "B" }, t0);
  list = setCondition(list, { type: "Ready", status: "True", reason: "C" }, t1);
  assert.deepEqual(
    list.map((c) => c.type),
    ["Ready", "Degraded"],
  );
  assert.equal(findCondition(list, "Ready")?.reason, "C");
  assert.equal(findCondition(list, "Missing"), undefined);
  assert.equal(isConditionTrue(list, "Ready"), true);
  assert.equal(isConditionTrue(list, "Degraded"), false);
  assert.equal(isConditionTrue(undefined, "Ready"), false);
  assert.deepEqual(
    removeCondition(list, "Ready").map((c) => c.type),
    ["Degraded"],
  );
});

test("an explicit lastTransitionTime is used when the status changes", () => {
  const list = setCondition(
    [],
    { type: "Ready", status: "True", reason: "R", lastTransitionTime: "2020-01-01T00:00:00Z" },
    t0,
  );
  assert.equal(list[0]?.lastTransitionTime, "2020-01-01T00:00:00Z");
});

test("formatTime writes whole seconds in UTC", () => {
  assert.equal(formatTime(t0), "2024-05-01T12:00:00Z");
});
