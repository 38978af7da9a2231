/**
 * The reflector's retry delays: exponential with jitter, forgotten after a healthy spell.
 *
 * @module
 */
import { ExponentialDelays } from "../common/exponential.ts";

/** Options of {@link ReconnectBackoff}. */
export interface BackoffOptions {
  /** Delay after the first failure, in ms. Default 800 (client-go's reflector). */
  initialMs?: number;
  /** Upper bound of any delay, in ms. Default 30,000 (client-go's reflector). */
  maxMs?: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /**
   * Fraction by which a delay may be shortened at random, in [0, 1). Default 0.2: a delay
   * computed as `d` becomes a uniform pick from `[d × 0.8, d]`.
   */
  jitter?: number;
  /**
   * After this long without a failure (ms), the next failure starts again from `initialMs`.
   * Default 120,000 (client-go's two minutes).
   */
  resetAfterMs?: number;
}

/** Defaults of {@link BackoffOptions}, exported for documentation and tests. */
export const defaultBackoff: Required<BackoffOptions> = {
  initialMs: 800,
  maxMs: 30_000,
  factor: 2,
  jitter: 0.2,
  resetAfterMs: 120_000,
};

/**
 * Exponential backoff for one list/watch loop.
 *
 * Jitter only ever shortens a delay, so `maxMs` is a hard bound, yet many informers that lost the
 * API server together (a restart, a network cut) spread their reconnects instead of arriving in
 * lockstep. The run of failures is forgotten once `resetAfterMs` passes without one, so a watch
 * that was healthy for a while reconnects quickly after its next hiccup.
 */
export class ReconnectBackoff {
  readonly resetAfterMs: number;
  readonly #delays: ExponentialDelays;
  readonly #now: () => number;
  #failures = 0;
  #lastFailureAt = Number.NEGATIVE_INFINITY;

  constructor(
    options: BackoffOptions = {},
    now: () => number = () => performance.now(),
    random: () => number = Math.random,
  ) {
    const o = { ...defaultBackoff, ...definedOnly(options) };
    if (!(o.resetAfterMs >= 0))
      throw new RangeError(`resetAfterMs must be non-negative, got ${o.resetAfterMs}`);
    this.#delays = new ExponentialDelays({ ...o, random });
    this.resetAfterMs = o.resetAfterMs;
    this.#now = now;
  }

  get initialMs(): number {
    return this.#delays.initialMs;
  }

  get maxMs(): number {
    return this.#delays.maxMs;
  }

  /** Consecutive failures counted so far (0 after a reset). */
  get failures(): number {
    return this.#failures;
  }

  /** Records a failure and returns how long to wait before the next attempt (ms). */
  next(): number {
    const now = this.#now();
    if (now - this.#lastFailureAt >= this.resetAfterMs) this.#failures = 0;
    this.#lastFailureAt = now;
    return this.#delays.after(++this.#failures);
  }

  /** Forgets the run of failures at once. */
  reset(): void {
    this.#failures = 0;
    this.#lastFailureAt = Number.NEGATIVE_INFINITY;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
