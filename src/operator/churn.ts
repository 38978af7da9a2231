/**
 * Detects a `sync` that is not a function of what it reads: one whose result changes while its
 * inputs did not (a timestamp or a random name in a child or the status). Each of its writes
 * echoes back as a change that runs it again, so it would loop; after a few such rounds the
 * parent is slowed down with growing delays and told why.
 *
 * The inputs of each round are fingerprinted, with Operon's own writes masked: a child whose
 * live state is the one Operon last wrote (or is deleting) counts as unchanged. Then:
 * - inputs identical to the previous round's, result different: churn (a timestamp, a counter);
 * - inputs that differ only by children Operon itself created or deleted, and the result drops
 *   a child again: churn (a random name replaced on every call);
 * - anything someone else changed (the parent's spec, a child's status, a related object):
 *   progress, never churn. Ordered, multi-step work (create the next child once the previous one
 *   exists or is ready) is therefore never slowed down, however many steps it takes.
 */
import { createHash } from "node:crypto";
import type { TriggerReason } from "../controller/controller.ts";
import type { KubeObject } from "../resources/object.ts";
import { stableHash } from "./drift.ts";

/** What one round of `sync` read, reduced to what tells someone else's change from Operon's. */
export interface InputFingerprint {
  /** The parent without its status (Operon's output) and bookkeeping fields. */
  parent: string;
  /** Related objects, by UID and resourceVersion. */
  related: string;
  /** Children in a state that Operon did not write (by UID and resourceVersion). */
  foreign: string;
  /** Every child's UID, whoever wrote it last: which children exist is an input too. */
  members: string;
}

/** What a round of `sync` read. */
export interface FingerprintSource {
  parent: KubeObject;
  children: Iterable<KubeObject>;
  related: Readonly<Record<string, readonly KubeObject[] | undefined>>;
  /** True when the child's live state is the result of Operon's own last write (or deletion). */
  isOwnState(child: KubeObject): boolean;
}

function digest(parts: string[]): string {
  if (parts.length === 0) return "";
  parts.sort();
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\n");
  return hash.digest("base64url").slice(0, 22);
}

/** Fingerprints what `sync` read, with Operon's own writes masked. */
export function fingerprintInputs(source: FingerprintSource): InputFingerprint {
  const { status: _status, metadata, ...rest } = source.parent;
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata;
  const foreign: string[] = [];
  const members: string[] = [];
  for (const child of source.children) {
    const id = `${child.kind}/${child.metadata.uid}`;
    members.push(id);
    if (!source.isOwnState(child)) foreign.push(`${id}@${child.metadata.resourceVersion}`);
  }
  const related: string[] = [];
  for (const [name, objects] of Object.entries(source.related)) {
    for (const object of objects ?? []) {
      related.push(`${name}/${object.metadata.uid}@${object.metadata.resourceVersion}`);
    }
  }
  return {
    // The server sends an object's fields in a stable order, so plain JSON is enough here: a
    // difference in order could only make a round count as progress, never as churn.
    parent: createHash("sha256")
      .update(JSON.stringify({ ...rest, metadata: meta }))
      .digest("base64url")
      .slice(0, 22),
    related: digest(related),
    foreign: digest(foreign),
    members: digest(members),
  };
}

/**
 * Fingerprints what `sync` returned: the desired children (by their desired-state hashes, in any
 * order) and the status, without the conditions' `lastTransitionTime`, which Operon keeps
 * unchanged while a condition's status does not change.
 */
export function fingerprintOutput(
  childHashes: readonly string[],
  status: Record<string, unknown> | undefined,
): string {
  let normalised = status;
  if (status && Array.isArray(status.conditions)) {
    normalised = {
      ...status,
      conditions: (status.conditions as Record<string, unknown>[]).map(
        ({ lastTransitionTime: _time, ...condition }) => condition,
      ),
    };
  }
  return stableHash({ children: [...childHashes].sort(), status: normalised ?? null });
}

/** One round, as the detector sees it. */
export interface ChurnObservation {
  inputs: InputFingerprint;
  output: string;
  /** Children this round deleted because `sync` no longer returned them. */
  pruned: readonly string[];
  /** What the round changed, for the message. */
  changed: readonly string[];
}

/** A parent whose `sync` does not converge: how long it waits, and what it is told. */
export interface ChurnVerdict {
  /** Consecutive rounds whose result changed although their inputs did not. */
  rounds: number;
  /** How long the parent waits before its next round (its own writes' echoes do not end it). */
  delayMs: number;
  /** The `NotConverging` message on the parent's `Synced` condition and in its Warning Event. */
  message: string;
}

export interface ChurnOptions {
  /** Consecutive churning rounds tolerated before slowing down. Default 4. */
  threshold?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * Reasons that end a hold: the parent or a related object changed, or someone asked. A change of
 * a child does not: its watch event can arrive before the response of Operon's own write, so it
 * cannot be told from the echo that would run the loop again.
 */
const outsideChanges: ReadonlySet<TriggerReason> = new Set([
  "primary-changed",
  "related-changed",
  "manual",
]);

interface Round {
  inputs: InputFingerprint;
  output: string;
  streak: number;
}

/** Per parent key: the previous round's fingerprints and the current streak of churning rounds. */
export class ChurnDetector {
  readonly #rounds = new Map<string, Round>();
  /** Until when a slowed-down parent ignores its own writes' echoes and resyncs. */
  readonly #holds = new Map<string, number>();
  readonly #threshold: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #now: () => number;

  constructor(options: ChurnOptions = {}) {
    this.#threshold = options.threshold ?? 4;
    this.#baseDelayMs = options.baseDelayMs ?? 1_000;
    this.#maxDelayMs = options.maxDelayMs ?? 300_000;
    this.#now = options.now ?? Date.now;
  }

  /** Records one round; returns a verdict when the parent should be slowed down. */
  observe(key: string, observation: ChurnObservation): ChurnVerdict | undefined {
    const previous = this.#rounds.get(key);
    const churned = previous !== undefined && isChurn(previous, observation);
    const streak = churned ? previous.streak + 1 : 0;
    this.#rounds.set(key, { inputs: observation.inputs, output: observation.output, streak });
    if (streak < this.#threshold) {
      this.#holds.delete(key);
      return undefined;
    }
    const delayMs = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (streak - this.#threshold));
    this.#holds.set(key, this.#now() + delayMs);
    const changed = observation.changed.slice(0, 5).join(", ") || "the status";
    return {
      rounds: streak,
      delayMs,
      message:
        `sync returns a different result on every call although nothing it reads changed (${streak} rounds; last: ${changed}); ` +
        `Operon waits ${Math.round(delayMs / 1000)}s before the next round. Derive names and values from the parent, ` +
        "its children and related objects only (no random names, timestamps or counters in children or the status).",
    };
  }

  /**
   * Milliseconds a slowed-down parent should still wait when only its own writes' echoes, a
   * resync or a requeue queued it; 0 when it may run.
   */
  holdRemaining(key: string, reasons: ReadonlySet<TriggerReason>): number {
    const until = this.#holds.get(key);
    if (until === undefined) return 0;
    const remaining = until - this.#now();
    if (remaining <= 0 || [...reasons].some((reason) => outsideChanges.has(reason))) return 0;
    return remaining;
  }

  forget(key: string): void {
    this.#rounds.delete(key);
    this.#holds.delete(key);
  }
}

function isChurn(previous: Round, current: ChurnObservation): boolean {
  const before = previous.inputs;
  const now = current.inputs;
  // Someone other than Operon changed an input: whatever the result, it is progress.
  if (before.parent !== now.parent || before.related !== now.related) return false;
  if (before.foreign !== now.foreign) return false;
  // Identical inputs: the result must be identical too.
  if (before.members === now.members) return current.output !== previous.output;
  // Only Operon's own creates and deletes changed which children exist: adding the next child
  // is progress; dropping one again is a result that does not settle.
  return current.pruned.length > 0;
}
