/**
 * Admission control for outgoing requests: a bound on requests in flight and an optional
 * client-side token bucket.
 *
 * The in-flight bound protects the process and the API server from a burst of parallel calls
 * (a thousand reconciles starting at once); the token bucket is the client-go style `qps`/`burst`
 * limit, off by default because API Priority and Fairness throttles fairly on the server side
 * and answers 429 with `Retry-After`, which the client honours.
 */

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted", "AbortError");
}

/**
 * A counting semaphore with a FIFO queue; waiting can be cancelled with an `AbortSignal`.
 *
 * @example
 * const inFlight = new Semaphore(64);
 * const release = await inFlight.acquire(signal);
 * try { await doRequest(); } finally { release(); }
 */
export class Semaphore {
  readonly limit: number;
  #active = 0;
  readonly #waiters: Array<{ grant: () => void }> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`Semaphore limit must be a positive integer, got ${limit}`);
    }
    this.limit = limit;
  }

  /** Permits currently held. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Waits for a permit; the returned function releases it (calling it twice is harmless). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.#active < this.limit) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this.#releaser());
        },
      };
      const onAbort = () => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      // The permit passes straight to the next waiter, so `active` stays the same.
      if (next) next.grant();
      else this.#active--;
    };
  }
}

/** Options of {@link TokenBucket}. */
export interface TokenBucketOptions {
  /** Sustained requests per second. */
  qps: number;
  /** Requests allowed at once after a quiet period; defaults to `max(1, ceil(qps))`. */
  burst?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * A token bucket: `burst` tokens, refilled at `qps` per second; each request takes one.
 * Waiters are served in order, each scheduled for the time its token becomes available.
 *
 * @example
 * const bucket = new TokenBucket({ qps: 50, burst: 100 });
 * await bucket.take(signal); // resolves immediately while tokens remain
 */
export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(options: TokenBucketOptions) {
    if (!(options.qps > 0)) throw new RangeError(`qps must be positive, got ${options.qps}`);
    this.qps = options.qps;
    this.burst = Math.max(1, Math.floor(options.burst ?? Math.ceil(options.qps)));
    this.#now = options.now ?? (() => performance.now());
    this.#tokens = this.burst;
    this.#updatedAt = this.#now();
  }

  /**
   * Reserves a token and returns how many milliseconds to wait before using it (0 when one is
   * available). Tokens may go negative: that is the queue of reservations.
   */
  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.qps);
    this.#updatedAt = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.qps) * 1000;
  }

  /** Takes a token only when one is available now; false (and nothing taken) otherwise. */
  tryTake(): boolean {
    const now = this.#now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.qps);
    this.#updatedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Gives back a reservation that was not used (the caller gave up while waiting). */
  #cancel(): void {
    this.#tokens = Math.min(this.burst, this.#tokens + 1);
  }

  /** Waits until a token is available. */
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
        this.#cancel();
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/**
 * Sleeps, waking early (with the abort reason) when the signal fires.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
