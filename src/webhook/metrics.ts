/**
 * What the webhook server reports about its requests, as hooks: the manager turns them into
 * Prometheus metrics under controller-runtime's names (`controller_runtime_webhook_*`), while this
 * folder stays free of any metrics library.
 *
 * @module
 */

/**
 * Why a request was not answered with a handler's decision:
 * - `bad_request`: the body is not JSON, or not an AdmissionReview / ConversionReview (HTTP 400);
 * - `too_large`: the body is over the server's limit (HTTP 413);
 * - `unknown_kind`: the object is of a kind the webhook was not declared for, or no conversion is
 *   declared for it (a denial / a failed conversion naming it);
 * - `handler_error`: the handler threw something other than `Denied` (a denial with code 500), or
 *   a conversion threw (a failed conversion);
 * - `timeout`: the handler outlived its deadline (HTTP 504: the failure policy decides);
 * - `cancelled`: the caller hung up or the server closed first.
 */
export type WebhookFailureReason =
  | "bad_request"
  | "too_large"
  | "unknown_kind"
  | "handler_error"
  | "timeout"
  | "cancelled";

/**
 * Hooks the server calls for each request to a webhook path (never for unknown paths, which
 * would make label values unbounded). `webhook` is the path, as controller-runtime labels it.
 *
 * @example
 * const metrics: WebhookMetrics = {
 *   started: (webhook) => inFlight.inc({ webhook }),
 *   finished: (webhook, code, seconds) => {
 *     inFlight.dec({ webhook });
 *     total.inc({ webhook, code: String(code) });
 *     latency.observe({ webhook }, seconds);
 *   },
 *   failed: (webhook, reason) => failures.inc({ webhook, reason }),
 * };
 */
export interface WebhookMetrics {
  /** A request to `webhook` arrived. */
  started(webhook: string): void;
  /** The answer to it went out with HTTP status `code`, `seconds` after it arrived. */
  finished(webhook: string, code: number, seconds: number): void;
  /** It was not answered with a handler's decision, for `reason`. */
  failed(webhook: string, reason: WebhookFailureReason): void;
}

/** Hooks that record nothing. */
export const noWebhookMetrics: WebhookMetrics = {
  started: () => {},
  finished: () => {},
  failed: () => {},
};
