import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "./manual-clock.ts";

describe("ManualClock", () => {
  it("fires timers in due order as time advances, at their due time", async () => {
    const clock = new ManualClock(1000);
    const fired: [string, number][] = [];
    clock.setTimer(() => fired.push(["b", clock.now()]), 20);
    clock.setTimer(() => fired.push(["a", clock.now()]), 10);
    clock.setTimer(() => fired.push(["a2", clock.now()]), 10);
    await clock.advance(15);
    assert.deepEqual(fired, [
      ["a", 1010],
      ["a2", 1010],
    ]);
    assert.equal(clock.now(), 1015);
    await clock.advance(100);
    assert.deepEqual(fired.at(-1), ["b", 1020]);
    assert.equal(clock.now(), 1115);
    assert.equal(clock.pendingTimers, 0);
  });

  it("fires timers set by timer callbacks within the same advance", async () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimer(() => {
      fired.push(clock.now());
      clock.setTimer(() => fired.push(clock.now()), 5);
    }, 5);
    await clock.advance(10);
    assert.deepEqual(fired, [5, 10]);
  });

  it("does not fire cancelled timers", async () => {
    const clock = new ManualClock();
    let fired = false;
    const timer = clock.setTimer(() => {
      fired = true;
    }, 5);
    timer.cancel();
    timer.cancel();
    await clock.advance(10);
    assert.equal(fired, false);
    assert.equal(clock.pendingTimers, 0);
  });

  it("lets promise callbacks settle between timers", async () => {
    const clock = new ManualClock();
    const log: string[] = [];
    clock.setTimer(() => {
      void Promise.resolve()
        .then(() => undefined)
        .then(() => log.push("continuation"));
    }, 1);
    clock.setTimer(() => log.push("second timer"), 2);
    await clock.advance(2);
    assert.deepEqual(log, ["continuation", "second timer"]);
  });
});
