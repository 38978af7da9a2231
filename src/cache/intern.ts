/**
 * One copy of the strings that repeat across cached objects. `JSON.parse` gives every object its
 * own copy of each string value longer than a few characters, so ten thousand objects in one
 * namespace hold ten thousand copies of the namespace's name, of `apiVersion`, of label values
 * and of the same condition messages. Interning those fields before an object is stored keeps
 * one copy each.
 *
 * Only fields that usually repeat are interned (names and UIDs are not: they would fill the pool
 * without saving anything), and the pool is bounded: when it is full it starts over, so strings
 * of objects long gone are not kept forever.
 *
 * @module
 */
import type { KubeObject } from "../resources/object.ts";

/** A bounded pool of strings, one copy each. */
export class StringPool {
  readonly #strings = new Map<string, string>();
  readonly #limit: number;

  /** @param limit strings kept before the pool starts over (default 50,000). */
  constructor(limit = 50_000) {
    this.#limit = limit;
  }

  /** The pool's copy of `value` (`value` itself the first time). */
  intern(value: string): string {
    const known = this.#strings.get(value);
    if (known !== undefined) return known;
    if (this.#strings.size >= this.#limit) this.#strings.clear();
    this.#strings.set(value, value);
    return value;
  }

  get size(): number {
    return this.#strings.size;
  }
}

/** The pool the caches share (one per process). */
export const sharedStringPool = new StringPool();

function internValues(record: Record<string, unknown>, pool: StringPool): void {
  for (const key in record) {
    const value = record[key];
    if (typeof value === "string") record[key] = pool.intern(value);
  }
}

/**
 * Replaces the repeating string fields of `object` with the pool's copies, in place (the values
 * stay equal, so this is invisible to readers): `apiVersion`, `kind`, the namespace, the
 * creation timestamp, label values, finalizers, the `apiVersion` and `kind` of owner references,
 * and the type, status, reason, message and time of `status.conditions`. Returns `object`.
 *
 * @example
 * const stored = internStrings(JSON.parse(text) as KubeObject);
 */
export function internStrings<T extends KubeObject>(
  object: T,
  pool: StringPool = sharedStringPool,
): T {
  if (typeof object.apiVersion === "string") object.apiVersion = pool.intern(object.apiVersion);
  if (typeof object.kind === "string") object.kind = pool.intern(object.kind);
  const metadata = object.metadata;
  if (metadata) {
    if (metadata.namespace !== undefined) metadata.namespace = pool.intern(metadata.namespace);
    if (metadata.creationTimestamp !== undefined)
      metadata.creationTimestamp = pool.intern(metadata.creationTimestamp);
    if (metadata.labels) internValues(metadata.labels, pool);
    const finalizers = metadata.finalizers;
    if (finalizers) {
      for (let index = 0; index < finalizers.length; index++) {
        finalizers[index] = pool.intern(finalizers[index]!);
      }
    }
    for (const owner of metadata.ownerReferences ?? []) {
      owner.apiVersion = pool.intern(owner.apiVersion);
      owner.kind = pool.intern(owner.kind);
    }
  }
  const conditions = (object.status as { conditions?: unknown } | undefined)?.conditions;
  if (Array.isArray(conditions)) {
    for (const condition of conditions) {
      if (condition && typeof condition === "object") {
        internValues(condition as Record<string, unknown>, pool);
      }
    }
  }
  return object;
}
