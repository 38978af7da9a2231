/**
 * A queue-wide limit on how fast retries may happen, whatever the key.
 *
 * @module
 */
import { TokenBucket } from "../common/token-bucket.ts";

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

/** The default retry limit: 10 per second with bursts of 100, client-go's overall controller bucket. */
export function defaultRetryLimiter(): RateLimiter {
  return new TokenBucket({ qps: 10, burst: 100 });
}
