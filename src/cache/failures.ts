/**
 * How the reflector reads a failure: by HTTP code and Status reason rather than by error class,
 * so any list/watch client (the real client, a fake, an adapter) is understood alike.
 *
 * @module
 */
import type { ErrorStatus } from "./source.ts";

interface StatusLike {
  code?: unknown;
  reason?: unknown;
  status?: { code?: unknown; reason?: unknown };
  retryAfterSeconds?: unknown;
}

/** The HTTP code of a failure, if it carries one. */
export function failureCode(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as StatusLike;
  if (typeof e.code === "number" && e.code > 0) return e.code;
  if (typeof e.status?.code === "number" && e.status.code > 0) return e.status.code;
  return undefined;
}

/** The Status reason of a failure (`Gone`, `Expired`, `BadRequest`, ...), if it carries one. */
export function failureReason(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const e = error as StatusLike;
  if (typeof e.reason === "string" && e.reason) return e.reason;
  if (typeof e.status?.reason === "string" && e.status.reason) return e.status.reason;
  return undefined;
}

/** 410 Gone / Expired: the resource version is compacted away; only a fresh list helps. */
export function isGoneFailure(error: unknown): boolean {
  const reason = failureReason(error);
  return failureCode(error) === 410 || reason === "Gone" || reason === "Expired";
}

/** Whether a watch `ERROR` event's Status means 410 Gone. */
export function isGoneStatus(status: ErrorStatus): boolean {
  return status.code === 410 || status.reason === "Gone" || status.reason === "Expired";
}

/**
 * Whether a streaming-list watch was refused as a request the server does not understand: the
 * parameters are invalid there (400, 422) or the feature is off. Such a server is asked with
 * paginated lists from then on.
 */
export function isStreamingListRefusal(error: unknown): boolean {
  const code = failureCode(error);
  return code === 400 || code === 422;
}

/** How long the server asked us to wait (429 / 5xx `Retry-After`), in ms. */
export function retryAfterMs(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const seconds = (error as StatusLike).retryAfterSeconds;
  return typeof seconds === "number" && seconds > 0 ? seconds * 1000 : undefined;
}

/** A short, log-friendly description of a failure. */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Thrown into the reflector for an `ERROR` event that arrived as an event. */
export class WatchErrorEvent extends Error {
  readonly code: number | undefined;
  readonly reason: string | undefined;
  constructor(status: ErrorStatus) {
    super(
      `watch ERROR event: ${status.code ?? "?"} ${status.reason ?? ""}${status.message ? `: ${status.message}` : ""}`,
    );
    this.name = "WatchErrorEvent";
    this.code = status.code;
    this.reason = status.reason;
  }
}
