/**
 * A {@link Clock} that only moves when told to, for deterministic tests of time-driven code.
 *
 * @module
 */

import type { Clock, Timer } from "./clock.ts";

interface ManualTimer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A clock whose time advances only through {@link ManualClock.advance}. Timers fire in due-time
 * order (ties in the order they were set), and pending promise callbacks are allowed to settle
 * after each one, so async code reacting to a timer has run before the next timer fires.
 *
 * @example
 * const clock = new ManualClock();
 * const queue = new WorkQueue({ name: "test", clock, process });
 * queue.addAfter("a", 100);
 * await clock.advance(100); // "a" has been handed to `process`
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Set<ManualTimer>();

  /** @param start The initial reading of {@link ManualClock.now}. */
  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(callback: () => void, delayMs: number): Timer {
    const timer: ManualTimer = {
      at: this.#now + Math.max(0, delayMs),
      seq: this.#seq++,
      callback,
    };
    this.#timers.add(timer);
    return { cancel: () => this.#timers.delete(timer) };
  }

  /** How many timers are set and have not yet fired or been cancelled. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (including timers
   * set by those callbacks), and letting promise callbacks settle after each.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#earliest();
      if (next === undefined || next.at > target) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  #earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.#timers) {
      if (
        best === undefined ||
        timer.at < best.at ||
        (timer.at === best.at && timer.seq < best.seq)
      )
        best = timer;
    }
    return best;
  }
}

/**
 * Resolves once every promise callback queued so far (and any they queue) has run: a
 * `setImmediate` turn comes only after the microtask queue is empty.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
