import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KubeClient } from "../client/client.ts";
import type { KubeObject } from "../resources/object.ts";
import { EventQueueFullError, EventRecorder } from "./events.ts";

/** A client whose creates wait until released, counting how many are in flight. */
function slowClient() {
  const created: string[] = [];
  const waiting: (() => void)[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const client = {
    async create(_type: unknown, event: { note: string }) {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise<void>((resolve) => waiting.push(resolve));
      inFlight--;
      created.push(event.note);
      return event;
    },
  } as unknown as KubeClient;
  return {
    client,
    created,
    release: () => {
      for (const resolve of waiting.splice(0)) resolve();
    },
    mostInFlight: () => mostInFlight,
    waiting: () => waiting.length,
  };
}

function parent(index: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `p${index}`, namespace: "ns", uid: `uid-${index}` },
  };
}

describe("EventRecorder queue", () => {
  it("writes events with at most `writers` in flight, in order, and flush waits for all", async () => {
    const fake = slowClient();
    const recorder = new EventRecorder({ client: fake.client, controller: "test", writers: 2 });
    for (let i = 0; i < 5; i++) {
      recorder.record(parent(i), { type: "Normal", reason: "ChildCreated", message: `m${i}` });
    }
    let flushed = false;
    const flushing = recorder.flush().then(() => {
      flushed = true;
    });
    while (fake.created.length < 5) {
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(fake.waiting() <= 2);
      fake.release();
    }
    await flushing;
    assert.equal(flushed, true);
    assert.equal(fake.mostInFlight(), 2);
    assert.deepEqual(fake.created, ["m0", "m1", "m2", "m3", "m4"]);
  });

  it("drops events beyond the queue bound and says so, once per interval", async () => {
    const fake = slowClient();
    const errors: unknown[] = [];
    const recorder = new EventRecorder({
      client: fake.client,
      controller: "test",
      writers: 1,
      maxQueued: 2,
      onError: (error) => errors.push(error),
    });
    // One in flight, two queued, two dropped (reported together).
    for (let i = 0; i < 5; i++) {
      recorder.record(parent(i), { type: "Normal", reason: "ChildCreated", message: `m${i}` });
    }
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof EventQueueFullError);
    const flushing = recorder.flush();
    while (fake.created.length < 3) {
      await new Promise((resolve) => setImmediate(resolve));
      fake.release();
    }
    await flushing;
    assert.deepEqual(fake.created, ["m0", "m1", "m2"]);
  });

  it("thins bursts of Normal Events but records every Warning", async () => {
    const fake = slowClient();
    let now = 0;
    const recorder = new EventRecorder({
      client: fake.client,
      controller: "test",
      normalQps: 1,
      normalBurst: 3,
      now: () => now,
    });
    for (let i = 0; i < 6; i++) {
      recorder.record(parent(i), { type: "Normal", reason: "ChildCreated", message: `n${i}` });
      recorder.record(parent(i), { type: "Warning", reason: "SyncFailed", message: `w${i}` });
    }
    now = 2_000; // two more Normal Events' worth
    for (let i = 6; i < 9; i++) {
      recorder.record(parent(i), { type: "Normal", reason: "ChildCreated", message: `n${i}` });
    }
    const flushing = recorder.flush();
    while (fake.waiting() > 0 || fake.created.length === 0) {
      fake.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await flushing;
    assert.deepEqual(
      fake.created.filter((note) => note.startsWith("n")),
      ["n0", "n1", "n2", "n6", "n7"],
    );
    assert.deepEqual(
      fake.created.filter((note) => note.startsWith("w")),
      ["w0", "w1", "w2", "w3", "w4", "w5"],
    );
  });
});
