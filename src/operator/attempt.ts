/**
 * The record of one reconcile of a parent, and the one place that decides what happens next.
 *
 * The reconciler fills a {@link ReconcileAttempt} as it goes — why it ran, what it called, what
 * it did to each child, whether it wrote the status, the Events, the error — and
 * {@link decideNext} reads the finished record to choose between done, requeue and retry, as
 * controller-runtime's `reconcileHandler` does in one switch. The record is plain data, so
 * callers (tests, logs, metrics, a trace) can keep and serialise it.
 */

import type { ObjectVersion } from "../controller/controller.ts";
import type { ChildOutcome } from "./child-applier.ts";
import type { ChurnVerdict } from "./churn.ts";
import type { SyncReason } from "./declaration.ts";
import type { FieldDiff } from "./field-diff.ts";
import type { SyncedState } from "./status.ts";
import type { ApiWrite } from "./traced-client.ts";

export type { ObjectVersion } from "../controller/controller.ts";

/** What queued the parent: a reason and, for a watch event, the object and how it changed. */
export interface AttemptTrigger {
  reason: SyncReason;
  /** The watch event; absent for requeues, retries and manual queueing. */
  event?: "added" | "modified" | "deleted" | "resync";
  /** The object the event was about, at the version the event carried. */
  object?: ObjectVersion;
  /** The event is the echo of Operon's own write (a child it created or applied). */
  ownWrite?: boolean;
  /** When it was noted (RFC 3339 with milliseconds). */
  at: string;
}

/**
 * What a traced attempt adds to its record (operators run with tracing on: `operon dev`,
 * `operon run --trace`, OpenTelemetry, `operon plan`); untraced attempts do not pay for it.
 */
export interface AttemptDetail {
  /** When the attempt started, in ms since the epoch (with sub-ms precision, from the system clock). */
  startedAtMs: number;
  /** The parent as read (absent when it was gone). */
  parent?: ObjectVersion;
  /** The events that queued the parent since its previous attempt (the latest few). */
  triggers: AttemptTrigger[];
  /** Every object `sync` or `finalize` was given, at the version it read. */
  read: ObjectVersion[];
  /** What the status write changed (or, in a plan, would change). */
  statusDiff?: FieldDiff;
  /** Every API write Operon made for the attempt, in the order they completed. */
  apiWrites: ApiWrite[];
}

/**
 * What the attempt was about:
 * - `sync`: a live parent; `finalize`: a parent being deleted (cleanup, or nothing left to do);
 * - `held`: a parent slowed down for not converging, queued only by its own writes' echoes;
 * - `gone`: the parent no longer exists.
 */
export type AttemptPhase = "sync" | "finalize" | "held" | "gone";

/** The user's function, as this attempt called it. */
export interface FunctionCall {
  /** Which function was called. */
  function: "sync" | "finalize";
  /** Whether it returned a result or threw. */
  outcome: "returned" | "threw";
  /** How long it ran. */
  durationMs: number;
  /** `finalize` only: whether it reported the cleanup complete. */
  finalized?: boolean;
  /** What it asked for: `requeueAfterMs` of `sync`, `retryAfterMs` of `finalize`. */
  requestedDelayMs?: number;
}

/** An Event recorded on the parent during the attempt (Operon's or the user's). */
export interface RecordedParentEvent {
  /** `Normal` or `Warning`. */
  type: "Normal" | "Warning";
  /** UpperCamelCase, e.g. `ChildCreated`. */
  reason: string;
  /** What happened, for people. */
  message: string;
  /** What was done, e.g. `Create`. */
  action?: string;
}

/** What happens after the attempt. */
export type NextStep =
  | { kind: "done" }
  | {
      kind: "requeue";
      afterMs: number;
      /**
       * `requested`: `sync`/`finalize` asked for it; `settling`: children are still going away;
       * `not-converging`: slowed down by the churn detector; `held`: the rest of such a wait.
       */
      because: "requested" | "settling" | "not-converging" | "held";
    }
  | {
      kind: "retry";
      /** Retried with exponential backoff. */
      because: string;
    };

/** The record of one reconcile of one parent. */
export interface ReconcileAttempt {
  /** Identifies the attempt in logs (`reconcileId`) and Events. */
  reconcileId: string;
  /** The parent's key: `namespace/name`, or `name` when cluster-scoped. */
  key: string;
  /** What the attempt was about (see {@link AttemptPhase}). */
  phase: AttemptPhase;
  /** Why the parent was queued (every reason since the previous attempt). */
  reasons: SyncReason[];
  /** Consecutive failures before this attempt. */
  attempt: number;
  /** When the attempt started (RFC 3339, from the operator's clock). */
  startedAt: string;
  /** How long the attempt took. */
  durationMs: number;
  /** The user's `sync` or `finalize`, when called. */
  call?: FunctionCall;
  /**
   * Operon's finalizer: `added` before the first sync, `removed` after cleanup, `conflict` when
   * the parent changed under the patch (a newer version is on its way).
   */
  finalizer?: "added" | "removed" | "conflict";
  /** What was done to the children. */
  children?: ChildOutcome;
  /** Operon's `Synced` condition as the attempt set it. */
  synced?: SyncedState;
  /** Whether the parent's status was written. */
  statusWritten: boolean;
  /** Events recorded on the parent. */
  events: RecordedParentEvent[];
  /** Set when the result kept changing although nothing `sync` reads changed. */
  churn?: ChurnVerdict;
  /** `held` only: how much longer the parent waits. */
  heldForMs?: number;
  /** API writes made: children, status, finalizer. */
  writes: number;
  /** Time spent in Operon's writes (children, status, finalizer), apart from the user's function. */
  writesMs: number;
  /** Traced attempts only: triggers, what was read, diffs and each API write. */
  detail?: AttemptDetail;
  /** Why the attempt failed; it is retried with backoff. */
  error?: Error;
  /** What happens next, decided from the rest of the record. */
  next: NextStep;
}

/** Most a parent waits for children that are still going away before it looks again. */
export const settlingDelayMs = 2_000;

/**
 * What happens after an attempt, from its record alone: the one place that decides.
 *
 * @example
 * decideNext({ ...attempt, error: new Error("boom") }); // { kind: "retry", because: "boom" }
 */
export function decideNext(attempt: Omit<ReconcileAttempt, "next">): NextStep {
  const requested = attempt.call?.requestedDelayMs;
  switch (true) {
    case attempt.phase === "gone":
      return { kind: "done" };
    case attempt.error !== undefined:
      return { kind: "retry", because: attempt.error.message || attempt.error.name };
    case attempt.phase === "held":
      return { kind: "requeue", afterMs: attempt.heldForMs ?? 0, because: "held" };
    case attempt.call?.finalized === false:
      return requested !== undefined
        ? { kind: "requeue", afterMs: requested, because: "requested" }
        : { kind: "retry", because: "finalize has not reported finalized yet" };
    case attempt.churn !== undefined:
      return { kind: "requeue", afterMs: attempt.churn.delayMs, because: "not-converging" };
    case (attempt.children?.waiting.length ?? 0) > 0 ||
      (attempt.children?.recreating.length ?? 0) > 0:
      return {
        kind: "requeue",
        afterMs: Math.min(requested ?? settlingDelayMs, settlingDelayMs),
        because: "settling",
      };
    case requested !== undefined:
      return { kind: "requeue", afterMs: requested, because: "requested" };
    default:
      return { kind: "done" };
  }
}
