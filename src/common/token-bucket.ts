/**
 * The token bucket behind every `qps`/`burst` limit in Operon: the client's request rate, the
 * work queue's overall retry rate and the budget of Normal Events.
 *
 * @module
 */

/** Options of {@link TokenBucket}. */
export interface TokenBucketOptions {
  /** Sustained permits per second. */
  qps: number;
  /** Permits available at once when the bucket is full; default `max(1, ceil(qps))`. */
  burst?: number;
  /** Monotonic clock in ms. Default `performance.now`. */
  now?: () => number;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/**
 * Holds up to `burst` tokens, refilled at `qps` per second. A reservation takes one token even
 * when none is left: the balance goes negative and the wait returned is how long the refill takes
 * to pay it back, so callers queue up `1/qps` apart instead of all going at the same instant.
 *
 * @example
 * const bucket = new TokenBucket({ qps: 50, burst: 100 });
 * await bucket.take(signal);        // resolves at once while tokens remain
 * const waitMs = bucket.reserve();  // or: reserve, then wait yourself
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number | undefined;

  constructor(options: TokenBucketOptions) {
    const { qps } = options;
    if (!(qps > 0 && Number.isFinite(qps)))
      throw new RangeError(`qps must be a positive number, got ${qps}`);
    const burst = options.burst ?? Math.max(1, Math.ceil(qps));
    if (!(Number.isInteger(burst) && burst >= 1))
      throw new RangeError(`burst must be a positive integer, got ${burst}`);
    this.qps = qps;
    this.burst = burst;
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.burst;
  }

  /** Adds the tokens earned since the last look (a clock that goes back earns nothing). */
  #refill(now: number): void {
    if (this.#updatedAt !== undefined && now > this.#updatedAt) {
      this.#tokens = Math.min(
        this.burst,
        this.#tokens + ((now - this.#updatedAt) * this.qps) / 1000,
      );
    }
    if (this.#updatedAt === undefined || now > this.#updatedAt) this.#updatedAt = now;
  }

  /**
   * Takes one token and returns how long (ms) to wait before using it; 0 when it may be used at
   * once.
   *
   * @param now The caller's clock reading in ms, for callers with a clock of their own.
   */
  reserve(now: number = this.#now()): number {
    this.#refill(now);
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens * 1000) / this.qps;
  }

  /** Takes a token only when one is available now; false (and nothing taken) otherwise. */
  tryTake(now: number = this.#now()): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Waits until a token is available; an abort gives the reservation back. */
  async take(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortReason(signal);
    const waitMs = this.reserve();
    if (waitMs <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, waitMs);
      const onAbort = () => {
        clearTimeout(timer);
        this.#tokens = Math.min(this.burst, this.#tokens + 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
