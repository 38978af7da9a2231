import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { systemClock } from "./clock.ts";

describe("systemClock", () => {
  it("reads monotonic time", () => {
    const a = systemClock.now();
    const b = systemClock.now();
    assert.ok(b >= a);
  });

  it("fires timers, and not once cancelled", async () => {
    let cancelledFired = false;
    systemClock
      .setTimer(() => {
        cancelledFired = true;
      }, 1)
      .cancel();
    await new Promise<void>((resolve) => systemClock.setTimer(resolve, 5, true));
    assert.equal(cancelledFired, false);
  });
});
