import assert from "node:assert/strict";
import { test } from "node:test";
import { isRecord, jsonEqual } from "./json.ts";

test("isRecord: plain objects only", () => {
  assert.equal(isRecord({}), true);
  assert.equal(isRecord([]), false);
  assert.equal(isRecord(null), false);
  assert.equal(isRecord("x"), false);
});

test("jsonEqual: deep, ignoring key order and undefined members, as JSON would", () => {
  assert.equal(jsonEqual({ a: 1, b: undefined }, { a: 1 }), true);
  assert.equal(jsonEqual({ b: 2, a: 1 }, { a: 1, b: 2 }), true);
  assert.equal(jsonEqual({ a: { c: [1, { d: null }] } }, { a: { c: [1, { d: null }] } }), true);
  assert.equal(jsonEqual({ a: 1 }, { a: 1, c: 2 }), false);
  assert.equal(jsonEqual({ a: 1, c: 2 }, { a: 1 }), false);
  assert.equal(jsonEqual({ a: 1 }, { a: 1, b: null }), false);
  assert.equal(jsonEqual({ a: [1] }, { a: [1, 2] }), false);
  assert.equal(jsonEqual([1, 2], [2, 1]), false);
  assert.equal(jsonEqual({ a: null }, { a: {} }), false);
  assert.equal(jsonEqual([], {}), false);
  assert.equal(jsonEqual(null, {}), false);
  assert.equal(jsonEqual("1", 1), false);
});

test("jsonEqual: a member named __proto__ is compared as data", () => {
  const withProto = JSON.parse('{"__proto__": {"x": 1}}') as unknown;
  assert.equal(jsonEqual(withProto, {}), false);
  assert.equal(jsonEqual({}, withProto), false);
  assert.equal(jsonEqual(withProto, JSON.parse('{"__proto__": {"x": 1}}')), true);
});
