/**
 * Per-key retry delays after failures.
 *
 * @module
 */

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
 * `min(maxMs, baseMs × factor^(n−1))`, shortened by up to `jitter` of itself.
 *
 * Jitter only ever shortens a delay, so `maxMs` stays a hard upper bound, and keys that failed
 * together (an API server outage) still spread out once they all reach the cap instead of
 * retrying in lockstep every `maxMs`.
 */
export class ExponentialBackoff implements Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  #random: () => number;
  #failures = new Map<string, number>();

  constructor(options: ExponentialBackoffOptions = {}) {
    const { baseMs = 5, maxMs = 1_000_000, factor = 2, jitter = 0.2 } = options;
    if (!(baseMs > 0 && Number.isFinite(baseMs)))
      throw new RangeError(`baseMs must be a positive number, got ${baseMs}`);
    if (!(maxMs >= baseMs && Number.isFinite(maxMs)))
      throw new RangeError(`maxMs must be a number no smaller than baseMs, got ${maxMs}`);
    if (!(factor >= 1 && Number.isFinite(factor)))
      throw new RangeError(`factor must be a number >= 1, got ${factor}`);
    if (!(jitter >= 0 && jitter < 1))
      throw new RangeError(`jitter must be in [0, 1), got ${jitter}`);
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.factor = factor;
    this.jitter = jitter;
    this.#random = options.random ?? Math.random;
  }

  fail(key: string): number {
    const n = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, n);
    // Past a few hundred failures factor^(n-1) is Infinity, which Math.min turns into maxMs.
    const delay = Math.min(this.maxMs, this.baseMs * this.factor ** (n - 1));
    return delay * (1 - this.jitter * this.#random());
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}
