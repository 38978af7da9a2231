/**
 * Exponential delays with jitter: the arithmetic behind every retry in Operon (the work queue's
 * per-key backoff, the informers' reconnects). Who counts the failures, and when the count starts
 * over, is the caller's business.
 *
 * @module
 */

/** Options of {@link ExponentialDelays}. */
export interface ExponentialDelayOptions {
  /** Delay after the first failure, in ms. */
  initialMs: number;
  /** Upper bound of any delay, in ms. */
  maxMs: number;
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
 * `min(maxMs, initialMs × factor^(n−1))` after the n-th consecutive failure, shortened by up to
 * `jitter` of itself.
 *
 * Jitter only ever shortens a delay, so `maxMs` stays a hard upper bound, and callers that failed
 * together (an API server outage) still spread out once they all reach the cap instead of
 * retrying in lockstep.
 *
 * @example
 * const delays = new ExponentialDelays({ initialMs: 5, maxMs: 1_000_000 });
 * delays.after(1); // 4–5 ms
 * delays.after(4); // 32–40 ms
 */
export class ExponentialDelays {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly jitter: number;
  readonly #random: () => number;

  constructor(options: ExponentialDelayOptions) {
    const { initialMs, maxMs, factor = 2, jitter = 0.2 } = options;
    if (!(initialMs >= 0 && Number.isFinite(initialMs)))
      throw new RangeError(`the first delay must be a non-negative number of ms, got ${initialMs}`);
    if (!(maxMs >= initialMs && Number.isFinite(maxMs)))
      throw new RangeError(
        `the longest delay must be a number no smaller than the first, got ${maxMs}`,
      );
    if (!(factor >= 1 && Number.isFinite(factor)))
      throw new RangeError(`factor must be a number >= 1, got ${factor}`);
    if (!(jitter >= 0 && jitter < 1))
      throw new RangeError(`jitter must be in [0, 1), got ${jitter}`);
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.factor = factor;
    this.jitter = jitter;
    this.#random = options.random ?? Math.random;
  }

  /** The delay (ms) after `failures` consecutive failures (1 for the first). */
  after(failures: number): number {
    // Past a few hundred failures factor^(n-1) is Infinity, which Math.min turns into maxMs.
    const delay = Math.min(this.maxMs, this.initialMs * this.factor ** (Math.max(1, failures) - 1));
    return delay * (1 - this.jitter * this.#random());
  }
}
