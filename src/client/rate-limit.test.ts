import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Semaphore, sleep } from "./rate-limit.ts";

describe("Semaphore", () => {
  test("bounds concurrency and serves waiters in order", async () => {
    const sem = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const release = await sem.acquire();
        order.push(i);
        running++;
        peak = Math.max(peak, running);
        await sleep(5);
        running--;
        release();
        release(); // a second release is harmless
      }),
    );
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    assert.equal(sem.active, 0);
  });

  test("an aborted wait gives up its place", async () => {
    const sem = new Semaphore(1);
    const hold = await sem.acquire();
    const controller = new AbortController();
    const waiting = sem.acquire(controller.signal);
    assert.equal(sem.waiting, 1);
    controller.abort(new Error("stop"));
    await assert.rejects(waiting, /stop/);
    assert.equal(sem.waiting, 0);
    hold();
    assert.equal(sem.active, 0);
    await assert.rejects(sem.acquire(AbortSignal.abort(new Error("already"))), /already/);
    assert.throws(() => new Semaphore(0), RangeError);
  });
});
