/**
 * Deciding whether a child needs a write: compare what `sync` wants against what the server has,
 * without being fooled by what the server adds (defaults, other managers' fields) and without
 * looping on what it normalises (`1000m` stored as `1`).
 */
import { createHash } from "node:crypto";

/**
 * True when every field of `desired` has the same value in `live`. Objects compare key by key
 * (extra live keys are fine: defaults and other managers' fields); arrays compare element by
 * element and must have the same length.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  if (desired === null || desired === undefined) return live === null || live === undefined;
  if (Array.isArray(desired)) {
    if (!Array.isArray(live) || live.length !== desired.length) return false;
    return desired.every((item, index) => isSubset(item, live[index]));
  }
  if (typeof desired === "object") {
    if (typeof live !== "object" || live === null || Array.isArray(live)) return false;
    const liveRecord = live as Record<string, unknown>;
    for (const [key, value] of Object.entries(desired as Record<string, unknown>)) {
      if (value === undefined) continue;
      if (!isSubset(value, liveRecord[key])) return false;
    }
    return true;
  }
  // Numbers and strings the server may spell differently are handled by the applied memory.
  return false;
}

/** A stable hash of a JSON value (keys sorted), to recognise the same desired state again. */
export function stableHash(value: unknown): string {
  return createHash("sha256").update(stableStringify(value)).digest("base64url").slice(0, 22);
}

function stableStringify(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i > 0 ? "," : "") + stableStringify(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, the same order as `<` on strings.
  const keys = Object.keys(record).sort();
  let out = "{";
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(key)}:${stableStringify(item)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * What Operon last applied to each child and what the server made of it. When the desired state
 * is unchanged and the live object is still the one the server returned for that apply, the
 * child is up to date even if the server spelled a value differently.
 */
export class AppliedMemory {
  readonly #entries = new Map<string, { hash: string; resourceVersion: string }>();
  readonly #deleted = new Set<string>();
  /** Children whose deletion the cache has seen: a write's answer arriving later is not kept. */
  readonly #gone = new Set<string>();

  remember(uid: string, hash: string, resourceVersion: string): void {
    if (this.#gone.has(uid)) return;
    this.#entries.set(uid, { hash, resourceVersion });
  }

  matches(uid: string | undefined, hash: string, resourceVersion: string | undefined): boolean {
    if (!uid || !resourceVersion) return false;
    const entry = this.#entries.get(uid);
    return entry?.hash === hash && entry.resourceVersion === resourceVersion;
  }

  forget(uid: string | undefined): void {
    if (uid) this.#entries.delete(uid);
  }

  /**
   * The child is gone from the cache, whoever deleted it. Its entry goes, and stays gone even if
   * the answer to a write of it (a create racing the garbage collector) is handled afterwards.
   */
  gone(uid: string | undefined): void {
    if (!uid) return;
    this.#entries.delete(uid);
    this.#gone.add(uid);
    // Bounded: only deletions seen moments ago can race a write's answer.
    if (this.#gone.size > 10_000) this.#gone.delete(this.#gone.values().next().value!);
  }

  /** Notes that Operon deleted this object, so its deletion is recognised as Operon's own. */
  deleted(uid: string | undefined): void {
    if (!uid) return;
    this.#entries.delete(uid);
    this.#deleted.add(uid);
    // Bounded: only recent deletions matter, to tell their watch events apart.
    if (this.#deleted.size > 10_000) this.#deleted.delete(this.#deleted.values().next().value!);
  }

  /** True when this state of the object is the result of Operon's own write. */
  isOwnWrite(
    uid: string | undefined,
    resourceVersion: string | undefined,
    deleted = false,
  ): boolean {
    if (!uid) return false;
    if (deleted) return this.#deleted.has(uid);
    return (
      resourceVersion !== undefined && this.#entries.get(uid)?.resourceVersion === resourceVersion
    );
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** Annotation on each child: the hash of the desired state last applied to it. */
export const desiredHashAnnotation = "operon.dev/desired-hash";

type Live = Record<string, unknown> & {
  metadata?: { uid?: string; resourceVersion?: string; annotations?: Record<string, string> };
};

/**
 * True when `desired` (which carries its hash in {@link desiredHashAnnotation}) must be written
 * to bring `live` to it:
 * - the desired state changed since the last apply (the hash differs): applying it also removes
 *   fields `sync` stopped returning, which a field-by-field comparison cannot see;
 * - or someone changed a field Operon manages (a desired field differs in `live`), unless `live`
 *   is exactly what the server returned for this desired state (normalised spellings).
 */
export function needsWrite(
  desired: Record<string, unknown>,
  hash: string,
  live: Live,
  memory: AppliedMemory,
): boolean {
  if (live.metadata?.annotations?.[desiredHashAnnotation] !== hash) return true;
  if (memory.matches(live.metadata?.uid, hash, live.metadata?.resourceVersion)) return false;
  return !isSubset(desired, live);
}
