/**
 * Detects a `sync` that keeps producing a different result while nothing outside Operon changed
 * (a random child name, a timestamp): each of its writes echoes back as a change that runs it
 * again. After a few such rounds the parent is slowed down with growing delays and told why.
 */
import type { TriggerReason } from "../controller/controller.ts";

/**
 * Reasons that mean the inputs of `sync` changed. A change of a child is not one of them: it is
 * usually the echo of Operon's own write (whose watch event can arrive before the write's
 * response), and a child that someone else keeps changing back is worth reporting too.
 */
const outsideChanges: ReadonlySet<TriggerReason> = new Set([
  "primary-changed",
  "related-changed",
  "manual",
]);

export interface ChurnObservation {
  reasons: ReadonlySet<TriggerReason>;
  childWrites: number;
  /** What the writes changed, for the message. */
  changed: string[];
}

export interface ChurnVerdict {
  delayMs: number;
  message: string;
}

export interface ChurnOptions {
  /** Rounds of self-triggered writes tolerated before slowing down. Default 4. */
  threshold?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class ChurnDetector {
  readonly #streaks = new Map<string, number>();
  /** Until when a slowed-down parent ignores its own writes' echoes. */
  readonly #holds = new Map<string, number>();
  readonly #threshold: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;

  constructor(options: ChurnOptions = {}) {
    this.#threshold = options.threshold ?? 4;
    this.#baseDelayMs = options.baseDelayMs ?? 1_000;
    this.#maxDelayMs = options.maxDelayMs ?? 300_000;
  }

  /** Records one sync; returns a verdict when the parent should be slowed down. */
  observe(key: string, observation: ChurnObservation): ChurnVerdict | undefined {
    const selfTriggered = ![...observation.reasons].some((reason) => outsideChanges.has(reason));
    if (observation.childWrites === 0 || !selfTriggered) {
      // Converged, or something real changed: start counting again.
      if (observation.childWrites === 0) this.forget(key);
      return undefined;
    }
    const streak = (this.#streaks.get(key) ?? 0) + 1;
    this.#streaks.set(key, streak);
    if (streak < this.#threshold) return undefined;
    const delayMs = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (streak - this.#threshold));
    this.#holds.set(key, Date.now() + delayMs);
    const changed = observation.changed.slice(0, 5).join(", ");
    return {
      delayMs,
      message:
        `children change on every sync although the parent did not (${streak} rounds; last: ${changed}); ` +
        `Operon waits ${Math.round(delayMs / 1000)}s before the next round. Derive names and values from the parent ` +
        "and its children only (no random names, timestamps or counters), and check that no other controller " +
        "changes the same fields.",
    };
  }

  /**
   * Milliseconds a slowed-down parent should still wait when only its own writes' echoes (or a
   * resync) queued it; 0 when it may run.
   */
  holdRemaining(key: string, reasons: ReadonlySet<TriggerReason>): number {
    const until = this.#holds.get(key);
    if (until === undefined) return 0;
    const remaining = until - Date.now();
    if (remaining <= 0 || [...reasons].some((reason) => outsideChanges.has(reason))) {
      return 0;
    }
    return remaining;
  }

  forget(key: string): void {
    this.#streaks.delete(key);
    this.#holds.delete(key);
  }
}
