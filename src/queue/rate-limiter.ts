/**
 * A queue-wide limit on how fast retries may happen, whatever the key.
 *
 * @module
 */

/** Hands out permission to retry; shared by all keys of a queue (or of several queues). */
export interface RateLimiter {
  /**
   * Takes one permit and returns how long (ms) the caller must wait before using it; 0 when it
   * may go at once. A permit is taken even when a wait is returned, so later callers queue up
   * behind earlier ones instead of all retrying at the same instant.
   *
   * @param now The caller's monotonic clock reading in ms.
   */
  reserve(now: number): number;
}

/** Options of {@link TokenBucket}. */
export interface TokenBucketOptions {
  /** Sustained permits per second. Default 10 (client-go's overall controller bucket). */
  qps?: number;
  /** Permits available at once when the bucket is full. Default 100 (as client-go). */
  burst?: number;
}

/**
 * A token bucket: holds up to `burst` tokens, refills at `qps` per second, and each
 * {@link TokenBucket.reserve} takes one. When the bucket is empty the balance goes negative and
 * the wait is how long the refill takes to pay it back, so reservations are spaced `1/qps` apart.
 */
export class TokenBucket implements RateLimiter {
  readonly qps: number;
  readonly burst: number;
  #tokens: number;
  #last: number | undefined;

  constructor(options: TokenBucketOptions = {}) {
    const { qps = 10, burst = 100 } = options;
    if (!(qps > 0 && Number.isFinite(qps)))
      throw new RangeError(`qps must be a positive number, got ${qps}`);
    if (!(Number.isInteger(burst) && burst >= 1))
      throw new RangeError(`burst must be a positive integer, got ${burst}`);
    this.qps = qps;
    this.burst = burst;
    this.#tokens = burst;
  }

  reserve(now: number): number {
    if (this.#last !== undefined && now > this.#last) {
      this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) * this.qps) / 1000);
    }
    if (this.#last === undefined || now > this.#last) this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.qps;
  }
}
