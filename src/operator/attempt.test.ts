import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideNext, type ReconcileAttempt } from "./attempt.ts";
import { type ChildOutcome, emptyChildOutcome } from "./child-applier.ts";

const base: Omit<ReconcileAttempt, "next"> = {
  reconcileId: "r",
  key: "ns/p",
  phase: "sync",
  reasons: ["parent-changed"],
  attempt: 0,
  startedAt: "2030-01-01T00:00:00Z",
  durationMs: 1,
  statusWritten: false,
  events: [],
  writes: 0,
  writesMs: 0,
};

function children(overrides: Partial<ChildOutcome>): ChildOutcome {
  return { ...emptyChildOutcome(), ...overrides };
}

const returned = (requestedDelayMs?: number) => ({
  function: "sync" as const,
  outcome: "returned" as const,
  durationMs: 1,
  ...(requestedDelayMs === undefined ? {} : { requestedDelayMs }),
});

describe("decideNext", () => {
  it("is done when nothing asks for more", () => {
    assert.deepEqual(decideNext({ ...base, call: returned() }), { kind: "done" });
    assert.deepEqual(decideNext({ ...base, phase: "gone" }), { kind: "done" });
  });

  it("retries an error with backoff, whatever else was asked", () => {
    assert.deepEqual(decideNext({ ...base, call: returned(5), error: new Error("boom") }), {
      kind: "retry",
      because: "boom",
    });
  });

  it("slows a parent that does not converge, over its own request", () => {
    const churn = { rounds: 4, delayMs: 8_000, message: "m" };
    assert.deepEqual(decideNext({ ...base, call: returned(10), churn }), {
      kind: "requeue",
      afterMs: 8_000,
      because: "not-converging",
    });
    assert.deepEqual(decideNext({ ...base, phase: "held", heldForMs: 300 }), {
      kind: "requeue",
      afterMs: 300,
      because: "held",
    });
  });

  it("looks again soon while children are going away", () => {
    assert.deepEqual(
      decideNext({ ...base, call: returned(), children: children({ waiting: ["Pod ns/a"] }) }),
      { kind: "requeue", afterMs: 2_000, because: "settling" },
    );
    assert.deepEqual(
      decideNext({
        ...base,
        call: returned(500),
        children: children({ recreating: ["Job ns/j"] }),
      }),
      { kind: "requeue", afterMs: 500, because: "settling" },
    );
  });

  it("honours a requested requeue, and a finalize that is not done yet", () => {
    assert.deepEqual(decideNext({ ...base, call: returned(60_000) }), {
      kind: "requeue",
      afterMs: 60_000,
      because: "requested",
    });
    const finalize = { function: "finalize" as const, outcome: "returned" as const, durationMs: 1 };
    assert.deepEqual(
      decideNext({ ...base, phase: "finalize", call: { ...finalize, finalized: false } }),
      { kind: "retry", because: "finalize has not reported finalized yet" },
    );
    assert.deepEqual(
      decideNext({
        ...base,
        phase: "finalize",
        call: { ...finalize, finalized: false, requestedDelayMs: 5_000 },
      }),
      { kind: "requeue", afterMs: 5_000, because: "requested" },
    );
    assert.deepEqual(
      decideNext({ ...base, phase: "finalize", call: { ...finalize, finalized: true } }),
      { kind: "done" },
    );
  });

  it("makes a record that survives JSON", () => {
    const record = {
      ...base,
      call: returned(),
      children: children({ created: ["ConfigMap ns/a"] }),
    };
    const next = decideNext(record);
    assert.deepEqual(JSON.parse(JSON.stringify({ ...record, next })), { ...record, next });
  });
});
