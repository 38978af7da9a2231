/**
 * Secondary indexes of a store: index functions, the built-in ones, and the index structure that
 * maps each index value to the keys of the objects carrying it.
 *
 * @module
 */
import type { KubeObject } from "../resources/object.ts";

/**
 * Computes the values under which an object is found in one index. Must be a pure function of
 * the object: the store recomputes it on the old object to remove stale entries.
 */
export type IndexFunc<T extends KubeObject = KubeObject> = (object: T) => readonly string[];

/** Index functions by index name. */
export type Indexers<T extends KubeObject = KubeObject> = Record<string, IndexFunc<T>>;

/** Index of objects by namespace; cluster-scoped objects are not in it. */
export const NAMESPACE_INDEX = "namespace";
/** Index of objects by the UID of their controller (the ownerReference with `controller: true`). */
export const CONTROLLER_INDEX = "controller";
/** Index of objects by label, as `key=value`. */
export const LABEL_INDEX = "label";

/** `[namespace]` for namespaced objects, `[]` for cluster-scoped ones. */
export function namespaceIndexFunc(object: KubeObject): string[] {
  const namespace = object.metadata.namespace;
  return namespace ? [namespace] : [];
}

/** The UID of the object's controller, if it has one. */
export function controllerIndexFunc(object: KubeObject): string[] {
  const owner = object.metadata.ownerReferences?.find((ref) => ref.controller === true);
  return owner?.uid ? [owner.uid] : [];
}

/** One `key=value` entry per label. */
export function labelIndexFunc(object: KubeObject): string[] {
  const labels = object.metadata.labels;
  if (!labels) return [];
  return Object.entries(labels).map(([key, value]) => `${key}=${value}`);
}

/** The indexes every store has unless told otherwise. */
export const builtinIndexers: Indexers = {
  [NAMESPACE_INDEX]: namespaceIndexFunc,
  [CONTROLLER_INDEX]: controllerIndexFunc,
  [LABEL_INDEX]: labelIndexFunc,
};

/** Reports an index function that threw; the object is then simply absent from that index. */
export type IndexErrorReporter = (index: string, key: string, error: unknown) => void;

/**
 * The keys under one index value: the key itself while there is one (most index values — an
 * owner's UID, a label naming one parent — hold a single object per store, and a `Set` for each
 * would cost more than the object's own entry), a `Set` from the second on.
 */
type Keys = string | Set<string>;

/**
 * The value → keys maps of every index. Keeps no copy of computed values: removal recomputes them
 * from the old object, which is why index functions must be pure.
 */
export class IndexSet<T extends KubeObject> {
  readonly #funcs = new Map<string, IndexFunc<T>>();
  readonly #maps = new Map<string, Map<string, Keys>>();
  readonly #onError: IndexErrorReporter;

  constructor(onError: IndexErrorReporter = () => {}) {
    this.#onError = onError;
  }

  /** Names of the indexes. */
  names(): string[] {
    return [...this.#funcs.keys()];
  }

  has(index: string): boolean {
    return this.#funcs.has(index);
  }

  /** The function behind an index, to detect conflicting registrations. */
  func(index: string): IndexFunc<T> | undefined {
    return this.#funcs.get(index);
  }

  /**
   * Adds an index and fills it from `existing`. Re-adding the same function is a no-op; another
   * function under a taken name is an error, as two users would silently read each other's index.
   */
  add(index: string, func: IndexFunc<T>, existing: Iterable<[string, T]>): void {
    const current = this.#funcs.get(index);
    if (current === func) return;
    if (current) throw new Error(`index "${index}" already exists with another function`);
    this.#funcs.set(index, func);
    const map = new Map<string, Keys>();
    this.#maps.set(index, map);
    for (const [key, object] of existing) this.#insert(index, func, map, key, object);
  }

  /** Updates every index for `key` changing from `old` (if any) to `object` (if any). */
  update(key: string, old: T | undefined, object: T | undefined): void {
    for (const [index, func] of this.#funcs) {
      const map = this.#maps.get(index)!;
      if (old) this.#remove(index, func, map, key, old);
      if (object) this.#insert(index, func, map, key, object);
    }
  }

  /** Keys of the objects under `value` in `index`; throws for an unknown index. */
  keys(index: string, value: string): Iterable<string> {
    const map = this.#maps.get(index);
    if (!map) throw new Error(`no index named "${index}" (have: ${this.names().join(", ")})`);
    const keys = map.get(value);
    if (keys === undefined) return noKeys;
    return typeof keys === "string" ? [keys] : keys;
  }

  /** The values present in `index`. */
  values(index: string): string[] {
    const map = this.#maps.get(index);
    if (!map) throw new Error(`no index named "${index}" (have: ${this.names().join(", ")})`);
    return [...map.keys()];
  }

  /** Empties every index (the functions stay). */
  clear(): void {
    for (const map of this.#maps.values()) map.clear();
  }

  #compute(index: string, func: IndexFunc<T>, key: string, object: T): readonly string[] {
    try {
      return func(object);
    } catch (error) {
      this.#onError(index, key, error);
      return [];
    }
  }

  #insert(index: string, func: IndexFunc<T>, map: Map<string, Keys>, key: string, object: T): void {
    for (const value of this.#compute(index, func, key, object)) {
      const keys = map.get(value);
      if (keys === undefined) map.set(value, key);
      else if (typeof keys !== "string") keys.add(key);
      else if (keys !== key) map.set(value, new Set([keys, key]));
    }
  }

  #remove(index: string, func: IndexFunc<T>, map: Map<string, Keys>, key: string, object: T): void {
    for (const value of this.#compute(index, func, key, object)) {
      const keys = map.get(value);
      if (keys === undefined) continue;
      // Drop emptied values: label values and owner UIDs come and go, and would pile up.
      if (typeof keys === "string") {
        if (keys === key) map.delete(value);
        continue;
      }
      keys.delete(key);
      if (keys.size === 1) map.set(value, keys.values().next().value!);
      else if (keys.size === 0) map.delete(value);
    }
  }
}

const noKeys: readonly string[] = [];
