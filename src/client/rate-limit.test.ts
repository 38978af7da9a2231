import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Semaphore, sleep, TokenBucket } from "./rate-limit.ts";

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

describe("TokenBucket", () => {
  test("allows a burst, then paces at qps", () => {
    let now = 0;
    const bucket = new TokenBucket({ qps: 10, burst: 3, now: () => now });
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0]);
    assert.equal(Math.round(bucket.reserve()), 100);
    assert.equal(Math.round(bucket.reserve()), 200);
    now = 1000; // refilled, but the two reservations above are owed
    assert.equal(bucket.reserve(), 0);
  });

  test("tryTake takes a token only when one is there", () => {
    let now = 0;
    const bucket = new TokenBucket({ qps: 1, burst: 2, now: () => now });
    assert.deepEqual([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()], [true, true, false]);
    now = 500; // half a token: still none, and nothing is owed
    assert.equal(bucket.tryTake(), false);
    now = 1000;
    assert.equal(bucket.tryTake(), true);
    assert.equal(bucket.tryTake(), false);
  });

  test("take waits for a token and can be aborted", async () => {
    // At 2 qps with a burst of 1, the second token is ~500 ms away however slow the machine is.
    const bucket = new TokenBucket({ qps: 2, burst: 1 });
    await bucket.take();
    const started = performance.now();
    await bucket.take();
    assert.ok(performance.now() - started >= 400);
    await assert.rejects(
      bucket.take(AbortSignal.timeout(10)),
      (err: unknown) => (err as Error).name === "TimeoutError",
    );
    // The abandoned reservation was given back: the next wait is one interval, not two.
    assert.ok(bucket.reserve() <= 500);
  });
});
