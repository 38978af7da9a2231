/**
 * The time source the work queue runs on: a monotonic "now" and cancellable one-shot timers.
 *
 * Everything in this folder reads time only through a {@link Clock}, so tests can drive it with
 * {@link ManualClock} instead of waiting on real time.
 *
 * @module
 */

/** A scheduled callback that can be cancelled. Cancelling twice, or after it fired, is harmless. */
export interface Timer {
  cancel(): void;
}

/** A monotonic millisecond clock with one-shot timers. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  now(): number;
  /**
   * Calls `callback` once, `delayMs` from now.
   *
   * By default the timer must not keep the process alive: a queue with delayed keys left in it
   * should never stop a program from exiting. `keepAlive: true` is for bounded waits a caller is
   * actively awaiting (a shutdown timeout).
   */
  setTimer(callback: () => void, delayMs: number, keepAlive?: boolean): Timer;
}

/** The largest delay `setTimeout` accepts; longer ones fire at once, so callers re-arm instead. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** The real clock: `performance.now()` and unref'd `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(callback, delayMs, keepAlive = false) {
    const handle = setTimeout(callback, Math.min(Math.max(0, delayMs), MAX_TIMER_DELAY_MS));
    if (!keepAlive) handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};
