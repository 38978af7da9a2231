/**
 * The keyed work queue, its backoff and rate limiters: what the controller layer imports.
 *
 * @module
 */

export { TokenBucket, type TokenBucketOptions } from "../common/token-bucket.ts";
export { type Backoff, ExponentialBackoff, type ExponentialBackoffOptions } from "./backoff.ts";
export { type Clock, systemClock, type Timer } from "./clock.ts";
export { ManualClock, settle } from "./manual-clock.ts";
export { noopMetrics, type WorkQueueMetrics } from "./metrics.ts";
export { defaultRetryLimiter, type RateLimiter } from "./rate-limiter.ts";
export {
  DEFAULT_CONCURRENCY,
  DEFAULT_METRICS_INTERVAL_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  type ProcessContext,
  type Processor,
  type ProcessorReturn,
  type ProcessResult,
  type RetryInfo,
  WorkQueue,
  type WorkQueueOptions,
  type WorkQueueStats,
} from "./work-queue.ts";
