import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatTraceLine } from "./trace-line.ts";
import type { TraceRecord } from "./trace-store.ts";

function record(overrides: Partial<TraceRecord>): TraceRecord {
  return {
    seq: 1,
    reconcileId: "r1",
    operator: "myapp",
    apiVersion: "apps.example.com/v1",
    kind: "MyApp",
    key: "default/shop",
    namespace: "default",
    name: "shop",
    phase: "sync",
    outcome: "ok",
    reasons: ["parent-changed"],
    triggers: [
      {
        reason: "parent-changed",
        event: "modified",
        at: "2030-01-01T12:03:04.000Z",
        object: {
          apiVersion: "apps.example.com/v1",
          kind: "MyApp",
          namespace: "default",
          name: "shop",
          resourceVersion: "389",
        },
      },
    ],
    read: [],
    attempt: 0,
    startedAt: "2030-01-01T12:03:04Z",
    startedAtMs: Date.UTC(2030, 0, 1, 12, 3, 4, 512),
    durationMs: 62,
    functionMs: 0.4,
    writesMs: 53,
    call: { function: "sync", outcome: "returned", durationMs: 0.4 },
    children: [],
    statusWritten: false,
    events: [],
    writes: 0,
    apiWrites: [],
    next: { kind: "done" },
    ...overrides,
  };
}

describe("one line per reconcile", () => {
  it("says why, what changed with the first field changes, and how long it took", () => {
    const line = formatTraceLine(
      record({
        children: [
          {
            child: "Deployment default/shop",
            group: "deployments",
            action: "updated",
            writes: 1,
            diff: { changes: [{ path: "spec.replicas", op: "change", before: 3, after: 5 }] },
          },
          { child: "Service default/shop", group: "services", action: "unchanged", writes: 0 },
        ],
        statusWritten: true,
        statusDiff: {
          changes: [{ path: "status.readyReplicas", op: "change", before: 3, after: 5 }],
        },
      }),
    );
    assert.match(
      line,
      /^\d\d:\d\d:\d\d\.512 myapp default\/shop {2}parent-changed: MyApp shop rv 389 {2}✓ updated Deployment shop \(spec\.replicas 3→5\); status \(status\.readyReplicas 3→5\) {2}62 ms \(sync 0\.4, writes 53\)$/,
    );
  });

  it("shows an error's message, and no colours unless asked", () => {
    const line = formatTraceLine(
      record({ outcome: "error", error: { name: "Error", message: "sync threw: boom" } }),
    );
    assert.match(line, /✗ sync threw: boom/);
    assert.ok(!line.includes("\u001b["));
    assert.ok(formatTraceLine(record({}), { color: true }).includes("\u001b[32m✓"));
  });

  it("says when nothing changed", () => {
    assert.match(formatTraceLine(record({})), /✓ no changes {2}62 ms/);
  });
});
