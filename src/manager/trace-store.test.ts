import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReconcileAttempt } from "../operator/attempt.ts";
import { TraceStore } from "./trace-store.ts";

const MyApp = { apiVersion: "apps.example.com/v1", kind: "MyApp" };
let ids = 0;

function attempt(key: string, overrides: Partial<ReconcileAttempt> = {}): ReconcileAttempt {
  return {
    reconcileId: `r${++ids}`,
    key,
    phase: "sync",
    reasons: ["parent-changed"],
    attempt: 0,
    startedAt: "2030-01-01T00:00:00Z",
    durationMs: 3,
    statusWritten: false,
    events: [],
    writes: 0,
    writesMs: 0,
    next: { kind: "done" },
    ...overrides,
  };
}

describe("the trace store", () => {
  it("keeps at most perParent records per parent and total in all, dropping the oldest", () => {
    const store = new TraceStore({ perParent: 3, total: 5 });
    for (let i = 0; i < 4; i++) store.add("myapp", MyApp, attempt("default/a"));
    assert.equal(store.records({ key: "default/a" }).length, 3);
    assert.equal(store.size, 3);
    for (let i = 0; i < 3; i++) store.add("myapp", MyApp, attempt("default/b"));
    assert.equal(store.size, 5);
    // The oldest record overall went: one of a's.
    assert.equal(store.records({ key: "default/a" }).length, 2);
    assert.equal(store.records({ key: "default/b" }).length, 3);
    for (let i = 0; i < 5; i++) store.add("myapp", MyApp, attempt("default/c"));
    assert.equal(store.size, 5);
    assert.deepEqual(
      store.parents().map((p) => p.key),
      ["default/c", "default/b"],
    );
    const a = store.parents().find((p) => p.key === "default/a");
    assert.equal(a, undefined, "a parent with no record left is no longer listed");
    assert.equal(store.parents()[0]!.reconciles, 5);
  });

  it("stays bounded through many records of one parent", () => {
    const store = new TraceStore({ perParent: 2, total: 10 });
    for (let i = 0; i < 5_000; i++) store.add("myapp", MyApp, attempt("default/a"));
    assert.equal(store.size, 2);
    assert.deepEqual(
      store.records().map((r) => r.seq),
      [4_999, 5_000],
    );
  });

  it("filters by errors, churn, kind, namespace and since; health follows the latest record", () => {
    const store = new TraceStore();
    store.add("myapp", MyApp, attempt("default/a"));
    const failed = store.add(
      "myapp",
      MyApp,
      attempt("default/a", {
        error: new Error("sync threw: boom"),
        next: { kind: "retry", because: "boom" },
      }),
    );
    store.add(
      "myapp",
      MyApp,
      attempt("prod/b", {
        churn: { rounds: 5, delayMs: 1000, message: "not converging" },
        next: { kind: "requeue", afterMs: 1000, because: "not-converging" },
      }),
    );
    store.add("greeter", { apiVersion: "example.com/v1", kind: "Greeting" }, attempt("world"));
    assert.deepEqual(
      store.records({ errors: true }).map((r) => r.error?.message),
      ["sync threw: boom"],
    );
    assert.deepEqual(
      store.records({ churn: true }).map((r) => r.key),
      ["prod/b"],
    );
    assert.deepEqual(
      store.records({ kind: "Greeting" }).map((r) => [r.key, r.name, r.namespace]),
      [["world", "world", undefined]],
    );
    assert.deepEqual(
      store.records({ namespace: "default" }).map((r) => r.outcome),
      ["ok", "error"],
    );
    assert.equal(store.records({ since: failed.seq }).length, 2);
    const a = store.parents().find((p) => p.key === "default/a")!;
    assert.equal(a.health, "error");
    assert.equal(a.summary, "sync threw: boom");
    assert.equal(a.errors, 1);
    assert.equal(store.record(failed.reconcileId)?.seq, failed.seq);
    assert.equal(JSON.parse(JSON.stringify(failed)).error.message, "sync threw: boom");
  });

  it("links a trigger to the reconcile whose write caused it", () => {
    const store = new TraceStore();
    const writer = store.add(
      "myapp",
      MyApp,
      attempt("default/a", {
        detail: {
          startedAtMs: 0,
          triggers: [],
          read: [],
          apiWrites: [
            {
              verb: "apply",
              apiVersion: "apps/v1",
              kind: "Deployment",
              namespace: "default",
              name: "a",
              startOffsetMs: 1,
              durationMs: 2,
              uid: "u1",
              resourceVersion: "42",
            },
          ],
        },
      }),
    );
    const echo = store.add(
      "myapp",
      MyApp,
      attempt("default/a", {
        detail: {
          startedAtMs: 0,
          read: [],
          apiWrites: [],
          triggers: [
            {
              reason: "child-changed",
              event: "modified",
              ownWrite: true,
              at: "2030-01-01T00:00:01Z",
              object: {
                apiVersion: "apps/v1",
                kind: "Deployment",
                name: "a",
                uid: "u1",
                resourceVersion: "42",
              },
            },
            {
              reason: "child-changed",
              event: "modified",
              at: "2030-01-01T00:00:02Z",
              object: {
                apiVersion: "apps/v1",
                kind: "Deployment",
                name: "a",
                uid: "u1",
                resourceVersion: "43",
              },
            },
          ],
        },
      }),
    );
    assert.equal(echo.triggers[0]!.causedBy, writer.reconcileId);
    assert.equal(echo.triggers[1]!.causedBy, undefined);
  });

  it("tells subscribers about each new record", () => {
    const store = new TraceStore();
    const seen: number[] = [];
    const stop = store.subscribe((record) => seen.push(record.seq));
    store.add("myapp", MyApp, attempt("default/a"));
    stop();
    store.add("myapp", MyApp, attempt("default/a"));
    assert.deepEqual(seen, [1]);
  });
});
