/**
 * The hooks a work queue reports its metrics through, with no metrics library behind them.
 *
 * @module
 */

/**
 * Receives a work queue's measurements. Every call carries the queue's `name`, so one object
 * can serve every queue in a process and turn `name` into a label. Each method maps onto one
 * metric of the usual workqueue family:
 *
 * | method | metric | type |
 * | --- | --- | --- |
 * | `depth` | `workqueue_depth` | gauge (set) |
 * | `add` | `workqueue_adds_total` | counter (inc) |
 * | `queueDuration` | `workqueue_queue_duration_seconds` | histogram (observe) |
 * | `workDuration` | `workqueue_work_duration_seconds` | histogram (observe) |
 * | `retry` | `workqueue_retries_total` | counter (inc) |
 * | `unfinishedWork` | `workqueue_unfinished_work_seconds` and `workqueue_longest_running_processor_seconds` | gauges (set) |
 *
 * Hooks are called synchronously from inside the queue and must not throw.
 */
export interface WorkQueueMetrics {
  /** The number of keys due to run now (waiting for a worker, or re-added while running). */
  depth(name: string, depth: number): void;
  /**
   * A key became due to run. Adds that merge into a run already due are not counted, so this
   * counts runs asked for rather than calls to `add`.
   */
  add(name: string): void;
  /** Seconds between a key becoming due to run and a worker starting it. */
  queueDuration(name: string, seconds: number): void;
  /** Seconds a worker spent on one key. */
  workDuration(name: string, seconds: number): void;
  /** A key was handed back to be retried after a failure (or through `addRateLimited`). */
  retry(name: string): void;
  /**
   * The running keys' age: `unfinishedSeconds` sums how long each running key has been running,
   * `longestRunningSeconds` is the longest of them. Reported every few hundred milliseconds while
   * any key runs, and once with zeros when the last one finishes.
   */
  unfinishedWork(name: string, unfinishedSeconds: number, longestRunningSeconds: number): void;
}

/** Metrics hooks that discard everything. */
export const noopMetrics: WorkQueueMetrics = {
  depth() {},
  add() {},
  queueDuration() {},
  workDuration() {},
  retry() {},
  unfinishedWork() {},
};
