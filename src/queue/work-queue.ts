/**
 * The keyed work queue with its own worker pool: keys go in, a processor runs for each, and
 * failures come back with backoff.
 *
 * @module
 */

import { type Backoff, ExponentialBackoff } from "./backoff.ts";
import { type Clock, MAX_TIMER_DELAY_MS, systemClock, type Timer } from "./clock.ts";
import { DelayHeap } from "./delay-heap.ts";
import { Fifo } from "./fifo.ts";
import { noopMetrics, type WorkQueueMetrics } from "./metrics.ts";
import { defaultRetryLimiter, type RateLimiter } from "./rate-limiter.ts";

/**
 * Default number of keys processed at once.
 *
 * Processing is mostly waiting on the API server, so a handful of workers keeps one slow key
 * (a webhook timing out, a large list) from holding up every other key, as a single worker
 * would; a small bound keeps a resync of thousands of keys from putting thousands of requests in
 * flight at once, as an unbounded pool would.
 */
export const DEFAULT_CONCURRENCY = 8;

/**
 * Default wait of {@link WorkQueue.shutdown}: leaves room inside Kubernetes' default 30 s
 * termination grace period for the rest of the process to stop after the queue.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;

/** Default period of the `unfinishedWork` metrics report while keys are running. */
export const DEFAULT_METRICS_INTERVAL_MS = 500;

/** What a processor is given besides the key. */
export interface ProcessContext {
  /**
   * Aborted when {@link WorkQueue.shutdown} gives up waiting for running keys, so long work can
   * stop early. Never aborted otherwise.
   */
  readonly signal: AbortSignal;
  /** Consecutive failures of this key before this run; 0 after a success or `forget`. */
  readonly failures: number;
}

/**
 * What a processor asks for when it finishes a key:
 * - nothing (`undefined`): done; the key's failure history is cleared;
 * - `{ requeueAfterMs }`: done, and run the key again after that many ms; failures are cleared;
 * - `{ error }`: failed; the key is retried after its backoff. Throwing (or rejecting) is the
 *   same as returning `{ error }`.
 */
export type ProcessResult = { readonly requeueAfterMs: number } | { readonly error: unknown };

/** Handles one key. Never called for a key that is already being handled. */
export type Processor = (key: string, context: ProcessContext) => ProcessorReturn;

/** What a {@link Processor} returns: a {@link ProcessResult}, nothing, or a promise of either. */
export type ProcessorReturn = ProcessorValue | Promise<ProcessorValue>;

// biome-ignore lint/suspicious/noConfusingVoidType: lets `(key) => {}` and `async (key) => {}` be processors.
type ProcessorValue = ProcessResult | undefined | void;

/** Given to `onError` alongside the error. */
export interface RetryInfo {
  /** Consecutive failures of the key, including this one. */
  readonly failures: number;
  /**
   * When the key runs again, in ms from now: 0 when it was re-added while running (it runs
   * again at once), `undefined` when it will not (the queue is shutting down).
   */
  readonly retryInMs: number | undefined;
}

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Identifies the queue in metrics and errors. */
  name: string;
  /** Called for each key that is due, never twice at once for the same key. */
  process: Processor;
  /** Most keys processed at once: a positive integer, or `Infinity`. Default {@link DEFAULT_CONCURRENCY}. */
  concurrency?: number;
  /** Delay before retrying a failed key. Default `new ExponentialBackoff()` (5 ms doubling to 1000 s, 20 % jitter). */
  backoff?: Backoff;
  /**
   * Queue-wide limit on retries, on top of each key's backoff: a retry waits for the longer of
   * the two. Default: 10 per second with bursts of 100 (`defaultRetryLimiter`); `false` turns it off.
   * Only retries (failures and {@link WorkQueue.addRateLimited}) are limited, never `add`.
   */
  rateLimiter?: RateLimiter | false;
  /**
   * When above 0, {@link WorkQueue.add} makes a key due this many ms later instead of at once,
   * and every add within that window merges into that one run. Default 0 (off).
   */
  debounceMs?: number;
  /** Receives the queue's measurements. Default: none. */
  metrics?: WorkQueueMetrics;
  /** How often `metrics.unfinishedWork` is reported while keys run. Default {@link DEFAULT_METRICS_INTERVAL_MS}. */
  metricsIntervalMs?: number;
  /** Told about each failed run. The queue itself logs nothing. Must not throw (a throw is ignored). */
  onError?: (key: string, error: unknown, retry: RetryInfo) => void;
  /** Time source. Default: the real clock, with timers that never keep the process alive. */
  clock?: Clock;
}

/** A snapshot of where a queue's keys are. */
export interface WorkQueueStats {
  /** Keys due to run now: waiting for a worker, or re-added while running. Same as {@link WorkQueue.len}. */
  readonly queued: number;
  /** Keys waiting for a future time (`addAfter`, backoff, debounce). */
  readonly delayed: number;
  /** Keys being processed. */
  readonly running: number;
}

type Outcome = { requeueAfterMs?: number } | { error: unknown };

/**
 * A queue of string keys with a built-in pool of workers.
 *
 * Each key is, at any moment, in at most one of three places: *delayed* until a time,
 * *queued* (due now), or *running* — plus *queued while running*, which means "run once more
 * when this run ends". From that follow the guarantees:
 * - adding a key that is already queued does nothing (deduplication);
 * - a key is never handed to two workers at once;
 * - a key added while running runs exactly once more after the current run, however many adds
 *   came in;
 * - every request to run a key is a due time, and the earliest wins: `add` supersedes a pending
 *   `addAfter`, an earlier `addAfter` replaces a later one, a later one is ignored.
 *
 * @example
 * const queue = new WorkQueue({
 *   name: "configmaps",
 *   process: async (key) => {
 *     const done = await reconcile(key);
 *     return done ? undefined : { requeueAfterMs: 30_000 };
 *   },
 * });
 * queue.start();
 * queue.add("default/app-config");
 * // ...
 * const drained = await queue.shutdown(10_000);
 */
export class WorkQueue {
  /** The queue's name, as given. */
  readonly name: string;
  /** Most keys processed at once. */
  readonly concurrency: number;
  /** Debounce window of {@link WorkQueue.add}, in ms (0: off). */
  readonly debounceMs: number;

  readonly #process: Processor;
  readonly #backoff: Backoff;
  readonly #rateLimiter: RateLimiter | undefined;
  readonly #metrics: WorkQueueMetrics;
  readonly #metricsIntervalMs: number;
  readonly #onError: WorkQueueOptions["onError"];
  readonly #clock: Clock;

  /** Due keys, with when each became due; a key also in #running is "queued while running". */
  readonly #queued = new Map<string, number>();
  /** Due keys that are not running, in the order workers take them. */
  readonly #ready = new Fifo();
  /** Running keys, with when each started. */
  readonly #running = new Map<string, number>();
  readonly #delayed = new DelayHeap();

  /** One timer for all delayed keys, armed for the earliest. */
  #delayTimer: Timer | undefined;
  #delayTimerAt = Number.POSITIVE_INFINITY;
  #metricsTimer: Timer | undefined;
  #dispatchScheduled = false;
  #started = false;
  #shuttingDown = false;
  readonly #abort = new AbortController();
  readonly #drainWaiters = new Set<() => void>();

  constructor(options: WorkQueueOptions) {
    const {
      name,
      process,
      concurrency = DEFAULT_CONCURRENCY,
      debounceMs = 0,
      metricsIntervalMs = DEFAULT_METRICS_INTERVAL_MS,
    } = options;
    if (typeof process !== "function") throw new TypeError("process must be a function");
    const boundOk = Number.isInteger(concurrency) || concurrency === Number.POSITIVE_INFINITY;
    if (!(boundOk && concurrency >= 1))
      throw new RangeError(
        `concurrency must be a positive integer or Infinity, got ${concurrency}`,
      );
    if (!(debounceMs >= 0 && Number.isFinite(debounceMs)))
      throw new RangeError(`debounceMs must be a finite number >= 0, got ${debounceMs}`);
    if (!(metricsIntervalMs > 0 && Number.isFinite(metricsIntervalMs)))
      throw new RangeError(`metricsIntervalMs must be a positive number, got ${metricsIntervalMs}`);
    this.name = name;
    this.concurrency = concurrency;
    this.debounceMs = debounceMs;
    this.#process = process;
    this.#backoff = options.backoff ?? new ExponentialBackoff();
    this.#rateLimiter =
      options.rateLimiter === false ? undefined : (options.rateLimiter ?? defaultRetryLimiter());
    this.#metrics = options.metrics ?? noopMetrics;
    this.#metricsIntervalMs = metricsIntervalMs;
    this.#onError = options.onError;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Makes `key` due now, or after `debounceMs` when the queue debounces. Does nothing if the
   * key is already due by then, or once the queue is shutting down.
   */
  add(key: string): void {
    if (this.#shuttingDown) return;
    this.#schedule(key, this.debounceMs, this.#clock.now());
  }

  /**
   * Makes `key` due `delayMs` from now (at once when `delayMs <= 0`, ignoring debounce), unless
   * it is already due earlier. Does nothing once the queue is shutting down.
   *
   * @throws {RangeError} when `delayMs` is not a finite number.
   */
  addAfter(key: string, delayMs: number): void {
    if (!Number.isFinite(delayMs))
      throw new RangeError(`delayMs must be a finite number, got ${delayMs}`);
    if (this.#shuttingDown) return;
    this.#schedule(key, delayMs, this.#clock.now());
  }

  /**
   * Records a failure of `key` and makes it due after its backoff (or the rate limiter's wait,
   * if longer). The queue does this itself when a processor fails; this is for callers that
   * detect failure elsewhere.
   */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    const backoffMs = this.#backoff.fail(key);
    this.#metrics.retry(this.name);
    if (!this.#queued.has(key)) this.#retryAfter(key, backoffMs);
  }

  /**
   * Clears the failure history of `key`, so its next failure backs off from the start. The queue
   * does this itself when a run succeeds. A retry already scheduled stays scheduled.
   */
  forget(key: string): void {
    this.#backoff.forget(key);
  }

  /** Consecutive failures recorded for `key`. */
  failures(key: string): number {
    return this.#backoff.failures(key);
  }

  /** The number of keys due to run now (not counting delayed keys). */
  len(): number {
    return this.#queued.size;
  }

  /** Where the queue's keys are right now. */
  stats(): WorkQueueStats {
    return { queued: this.#queued.size, delayed: this.#delayed.size, running: this.#running.size };
  }

  /** Whether {@link WorkQueue.shutdown} has been called. */
  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /**
   * Starts handing due keys to the processor. Keys may be added before; they wait until now.
   * Calling it again does nothing.
   *
   * @throws {Error} once the queue has been shut down.
   */
  start(): void {
    if (this.#shuttingDown) throw new Error(`work queue ${this.name} has been shut down`);
    this.#started = true;
    this.#kick();
  }

  /**
   * Stops the queue: from now on adds are ignored, due and delayed keys are dropped, failed keys
   * are not retried, and running keys are allowed to finish. Waits until they have, or until
   * `timeoutMs` passes; at that point the runs' `signal` is aborted. May be called more than once.
   *
   * @param timeoutMs How long to wait; `Infinity` waits for as long as it takes. Default
   *   {@link DEFAULT_SHUTDOWN_TIMEOUT_MS}.
   * @returns `true` when no key was running any more, `false` when the wait timed out.
   */
  shutdown(timeoutMs: number = DEFAULT_SHUTDOWN_TIMEOUT_MS): Promise<boolean> {
    if (!(timeoutMs >= 0)) throw new RangeError(`timeoutMs must be >= 0, got ${timeoutMs}`);
    if (!this.#shuttingDown) {
      this.#shuttingDown = true;
      this.#delayTimer?.cancel();
      this.#delayTimer = undefined;
      this.#delayed.clear();
      this.#ready.clear();
      if (this.#queued.size > 0) {
        this.#queued.clear();
        this.#metrics.depth(this.name, 0);
      }
    }
    if (this.#running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: Timer | undefined;
      const drained = () => {
        timer?.cancel();
        resolve(true);
      };
      this.#drainWaiters.add(drained);
      if (timeoutMs !== Number.POSITIVE_INFINITY) {
        // Kept alive: the caller is awaiting this answer and it comes within a known time.
        timer = this.#clock.setTimer(
          () => {
            this.#drainWaiters.delete(drained);
            this.#abort.abort(
              new DOMException(
                `work queue ${this.name} stopped waiting for running keys`,
                "TimeoutError",
              ),
            );
            resolve(false);
          },
          timeoutMs,
          true,
        );
      }
    });
  }

  /** Asks for `key` to be due `delayMs` after `now`, the earliest request winning. */
  #schedule(key: string, delayMs: number, now: number): void {
    if (delayMs <= 0) {
      this.#addNow(key, now);
      return;
    }
    if (this.#queued.has(key)) return;
    if (this.#delayed.schedule(key, now + delayMs)) this.#armDelayTimer(now);
  }

  #addNow(key: string, now: number): void {
    // A pending delayed entry is superseded; leaving the timer armed for it is harmless.
    this.#delayed.remove(key);
    if (this.#queued.has(key)) return;
    this.#queued.set(key, now);
    this.#metrics.add(this.name);
    this.#metrics.depth(this.name, this.#queued.size);
    // A running key is pushed to #ready when its run ends, never before.
    if (!this.#running.has(key)) {
      this.#ready.push(key);
      this.#kick();
    }
  }

  /** Makes `key` due after the longer of its backoff and the rate limiter's wait. */
  #retryAfter(key: string, backoffMs: number): number {
    const now = this.#clock.now();
    const limitMs = this.#rateLimiter?.reserve(now) ?? 0;
    this.#schedule(key, Math.max(backoffMs, limitMs), now);
    if (this.#queued.has(key)) return 0;
    return (this.#delayed.dueAt(key) ?? now) - now;
  }

  #armDelayTimer(now: number): void {
    const next = this.#delayed.nextAt();
    if (next === undefined) return;
    if (this.#delayTimer !== undefined && this.#delayTimerAt <= next) return;
    this.#delayTimer?.cancel();
    const wait = Math.min(Math.max(next - now, 0), MAX_TIMER_DELAY_MS);
    this.#delayTimerAt = now + wait;
    this.#delayTimer = this.#clock.setTimer(this.#onDelayTimer, wait);
  }

  readonly #onDelayTimer = (): void => {
    this.#delayTimer = undefined;
    const now = this.#clock.now();
    for (let key = this.#delayed.popDue(now); key !== undefined; key = this.#delayed.popDue(now)) {
      this.#addNow(key, now);
    }
    // Also covers a timer that fired a little early, or was capped at the longest timer delay.
    this.#armDelayTimer(now);
  };

  /**
   * Dispatches on a microtask rather than inline, so `add` never runs processor code inside the
   * caller (an event handler, say), and bursts of adds are dispatched in one pass.
   */
  #kick(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    queueMicrotask(this.#dispatch);
  }

  readonly #dispatch = (): void => {
    this.#dispatchScheduled = false;
    if (!this.#started || this.#shuttingDown) return;
    while (this.#running.size < this.concurrency) {
      const key = this.#ready.shift();
      if (key === undefined) return;
      this.#run(key);
    }
  };

  #run(key: string): void {
    const startedAt = this.#clock.now();
    const dueSince = this.#queued.get(key) ?? startedAt;
    this.#queued.delete(key);
    this.#running.set(key, startedAt);
    this.#metrics.depth(this.name, this.#queued.size);
    this.#metrics.queueDuration(this.name, (startedAt - dueSince) / 1000);
    if (this.#metricsTimer === undefined && this.#metrics !== noopMetrics) {
      this.#metricsTimer = this.#clock.setTimer(this.#onMetricsTimer, this.#metricsIntervalMs);
    }
    const context: ProcessContext = {
      signal: this.#abort.signal,
      failures: this.#backoff.failures(key),
    };
    void this.#invoke(key, context).then((outcome) => this.#finish(key, startedAt, outcome));
  }

  /** Runs the processor, turning every way it can end (including a synchronous throw) into an outcome. */
  async #invoke(key: string, context: ProcessContext): Promise<Outcome> {
    let result: unknown;
    try {
      result = await this.#process(key, context);
    } catch (error) {
      return { error };
    }
    if (result === undefined || result === null) return {};
    if (typeof result === "object") {
      if ("error" in result) return { error: result.error };
      if ("requeueAfterMs" in result) {
        const ms = result.requeueAfterMs;
        if (typeof ms === "number" && Number.isFinite(ms)) return { requeueAfterMs: ms };
        return {
          error: new TypeError(
            `processor of work queue ${this.name} returned requeueAfterMs ${String(ms)} for ${key}; expected a finite number`,
          ),
        };
      }
    }
    return {
      error: new TypeError(
        `processor of work queue ${this.name} returned an unexpected result for ${key}; expected undefined, { requeueAfterMs } or { error }`,
      ),
    };
  }

  #finish(key: string, startedAt: number, outcome: Outcome): void {
    const now = this.#clock.now();
    this.#running.delete(key);
    this.#metrics.workDuration(this.name, (now - startedAt) / 1000);
    const readded = this.#queued.has(key);
    if ("error" in outcome) {
      this.#failed(key, outcome.error, readded);
    } else {
      this.#backoff.forget(key);
      // A re-add while running means "run again now", which beats any later requeue.
      if (outcome.requeueAfterMs !== undefined && !readded && !this.#shuttingDown) {
        this.#schedule(key, outcome.requeueAfterMs, now);
      }
    }
    if (readded && !this.#shuttingDown) this.#ready.push(key);
    if (this.#running.size === 0) {
      this.#metricsTimer?.cancel();
      this.#metricsTimer = undefined;
      this.#metrics.unfinishedWork(this.name, 0, 0);
      if (this.#shuttingDown) {
        for (const drained of this.#drainWaiters) drained();
        this.#drainWaiters.clear();
      }
    }
    this.#kick();
  }

  #failed(key: string, error: unknown, readded: boolean): void {
    const backoffMs = this.#backoff.fail(key);
    let retryInMs: number | undefined;
    if (!this.#shuttingDown) {
      this.#metrics.retry(this.name);
      retryInMs = readded ? 0 : this.#retryAfter(key, backoffMs);
    }
    if (this.#onError === undefined) return;
    try {
      this.#onError(key, error, { failures: this.#backoff.failures(key), retryInMs });
    } catch {
      // A broken error hook must not wedge the key; the queue has nowhere else to report it.
    }
  }

  readonly #onMetricsTimer = (): void => {
    this.#metricsTimer = undefined;
    if (this.#running.size === 0) return;
    const now = this.#clock.now();
    let total = 0;
    let longest = 0;
    for (const startedAt of this.#running.values()) {
      const age = now - startedAt;
      total += age;
      if (age > longest) longest = age;
    }
    this.#metrics.unfinishedWork(this.name, total / 1000, longest / 1000);
    this.#metricsTimer = this.#clock.setTimer(this.#onMetricsTimer, this.#metricsIntervalMs);
  };
}
