import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { silentLogger } from "../logger.ts";
import { isRunnable, type Runnable, RunnableGroup } from "./runnable.ts";

function recorder() {
  const events: string[] = [];
  const make = (name: string, options: { failStart?: boolean; slowStop?: number } = {}) => {
    const runnable: Runnable & { signal?: AbortSignal } = {
      name,
      start(signal) {
        runnable.signal = signal;
        events.push(`start ${name}`);
        signal.addEventListener("abort", () => events.push(`aborted ${name}`));
        if (options.failStart) return Promise.reject(new Error("port in use"));
      },
      async stop(graceMs) {
        events.push(`stop ${name} ${graceMs}`);
        if (options.slowStop) await new Promise((resolve) => setTimeout(resolve, options.slowStop));
      },
    };
    return runnable;
  };
  return { events, make };
}

describe("RunnableGroup", () => {
  test("starts each runnable once, stops it gracefully, then aborts its signal", async () => {
    const { events, make } = recorder();
    const group = new RunnableGroup("test", silentLogger);
    const a = make("a");
    group.add(a);
    const manager = new AbortController();
    await group.start(manager.signal);
    await group.start(manager.signal);
    assert.equal(group.running, true);
    await group.stop(5_000);
    assert.equal(group.running, false);
    assert.deepEqual(events, ["start a", "stop a 5000", "aborted a"]);
    await group.stop(5_000);
    assert.equal(events.length, 3, "stopping again does nothing");
  });

  test("a failed start rejects with the runnable's error; the others stay started for the caller to stop", async () => {
    const { events, make } = recorder();
    const group = new RunnableGroup("test", silentLogger);
    group.add(make("good"));
    group.add(make("bad", { failStart: true }));
    await assert.rejects(group.start(new AbortController().signal), /^Error: port in use$/);
    assert.equal(group.running, true);
    await group.stop(0);
    assert.deepEqual(events, [
      "start good",
      "start bad",
      "aborted bad",
      "stop good 0",
      "aborted good",
    ]);
  });

  test("abort stops everything at once without waiting", async () => {
    const { events, make } = recorder();
    const group = new RunnableGroup("test", silentLogger);
    group.add(make("slow", { slowStop: 10_000 }));
    await group.start(new AbortController().signal);
    const started = Date.now();
    group.abort("leader election lost");
    assert.ok(Date.now() - started < 100);
    assert.equal(group.running, false);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ["start slow", "aborted slow", "stop slow 0"]);
  });

  test("the manager's signal stops the runnables with it", async () => {
    const { events, make } = recorder();
    const group = new RunnableGroup("test", silentLogger);
    const a = make("a");
    group.add(a);
    const manager = new AbortController();
    await group.start(manager.signal);
    manager.abort();
    assert.equal(a.signal?.aborted, true);
    assert.deepEqual(events, ["start a", "aborted a"]);
  });

  test("isRunnable tells runnables from operators and other values", () => {
    assert.ok(isRunnable({ name: "x", start: () => {} }));
    assert.ok(!isRunnable({ name: "x", kind: "Operator", start: () => {} }));
    assert.ok(!isRunnable({ name: "x" }));
    assert.ok(!isRunnable(null));
  });
});
