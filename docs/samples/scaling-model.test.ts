import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { documentedCases, measured, plan, table } from "./scaling-model.ts";

test("docs/scaling.md shows what the model computes", () => {
  const doc = readFileSync(new URL("../scaling.md", import.meta.url), "utf8");
  assert.ok(doc.includes(table(documentedCases)), "rerun node docs/samples/scaling-model.ts");
});

test("more replicas: less memory and CPU per member; the API server's work stays", () => {
  const one = plan(100_000, 1);
  const ten = plan(100_000, 10);
  assert.ok(ten.memberRssMiB < one.memberRssMiB / 4);
  assert.ok(ten.resyncCores < one.resyncCores / 8);
  assert.ok(ten.convergeApiMinutes >= one.convergeApiMinutes, "one assignment write more each");
  assert.equal(ten.etcdGiB, one.etcdGiB);
  assert.equal(ten.joinMoves, Math.round(100_000 / 11));
  // Without parents, a replica costs what an idle one does.
  assert.equal(plan(0, 3).memberRssMiB, measured.idleRssMiB);
});
