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

  it("drops events beyond the queue bound and says so", async () => {
    const fake = slowClient();
    const errors: unknown[] = [];
    const recorder = new EventRecorder({
      client: fake.client,
      controller: "test",
      writers: 1,
      maxQueued: 2,
      onError: (error) => errors.push(error),
    });
    // One in flight, two queued, two dropped.
    for (let i = 0; i < 5; i++) {
      recorder.record(parent(i), { type: "Normal", reason: "ChildCreated", message: `m${i}` });
    }
    assert.equal(errors.length, 2);
    assert.ok(errors.every((error) => error instanceof EventQueueFullError));
    const flushing = recorder.flush();
    while (fake.created.length < 3) {
      await new Promise((resolve) => setImmediate(resolve));
      fake.release();
    }
    await flushing;
    assert.deepEqual(fake.created, ["m0", "m1", "m2"]);
  });
});
