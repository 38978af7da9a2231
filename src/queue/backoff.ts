/**
 * Per-key retry delays after failures.
 *
 * @module
 */
import { ExponentialDelays } from "../common/exponential.ts";

/** Decides how long a key waits before it is retried, from its run of consecutive failures. */
export interface Backoff {
  /** Records one more failure of `key` and returns how long to wait before retrying it (ms). */
  fail(key: string): number;
  /** Clears the failure history of `key` (after it succeeded). */
  forget(key: string): void;
  /** The number of failures recorded for `key` since it was last forgotten. */
  failures(key: string): number;
}

/** Options of {@link ExponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /** Delay after the first failure, in ms. Default 5 (client-go's default). */
  baseMs?: number;
  /** Upper bound of any delay, in ms. Default 1,000,000, i.e. 1000 s (client-go's default). */
  maxMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /**
   * Fraction by which a delay may be shortened at random, in [0, 1). Default 0.2: a delay
   * computed as `d` becomes a uniform pick from `[d × (1 − jitter), d]`.
   */
  jitter?: number;
  /** Uniform random source in [0, 1). Default `Math.random`; injectable for tests. */
  random?: () => number;
}

/**
 * Exponential backoff per key with jitter: after the n-th consecutive failure a key waits
 * `min(maxMs, baseMs × factor^(n−1))`, shortened by up to `jitter` of itself (see
 * `ExponentialDelays`).
 */
export class ExponentialBackoff implements Backoff {
  readonly #delays: ExponentialDelays;
  #failures = new Map<string, number>();

  constructor(options: ExponentialBackoffOptions = {}) {
    const { baseMs = 5, maxMs = 1_000_000, ...rest } = options;
    if (!(baseMs > 0)) throw new RangeError(`baseMs must be a positive number, got ${baseMs}`);
    this.#delays = new ExponentialDelays({ initialMs: baseMs, maxMs, ...rest });
  }

  get baseMs(): number {
    return this.#delays.initialMs;
  }

  get maxMs(): number {
    return this.#delays.maxMs;
  }

  fail(key: string): number {
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    return this.#delays.after(n);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}
