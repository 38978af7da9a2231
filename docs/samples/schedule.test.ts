import assert from "node:assert/strict";
import { test } from "node:test";
import type { Job } from "kube-operon";
import { callSync } from "kube-operon/testkit";
import hourly from "./schedule.ts";

const greeting = {
  apiVersion: "example.com/v1" as const,
  kind: "Greeting" as const,
  metadata: { name: "world", namespace: "default" },
  spec: { name: "World", excited: false },
};

function run(hour: number): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: `world-${hour}`, labels: { "example.com/hour": String(hour) } },
  };
}

test("at 10:30 the 10:00 run exists, the last two earlier runs are kept, and 11:00 is next", async () => {
  const now = new Date("2030-01-01T10:30:00Z");
  const hour = Math.floor(now.getTime() / 3_600_000);
  const result = await callSync(hourly, {
    parent: greeting,
    children: { runs: [run(hour - 3), run(hour - 2), run(hour - 1)] },
    now,
  });
  assert.deepEqual(
    result.children?.map((job) => job.metadata.name),
    [`world-${hour - 2}`, `world-${hour - 1}`, `world-${hour}`],
  );
  assert.equal(result.requeueAfterMs, 30 * 60_000);
});
