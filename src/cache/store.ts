/**
 * The in-memory store of an informer: objects by key (`namespace/name`) with secondary indexes,
 * and the diff that turns a fresh full list into the changes consumers must see.
 *
 * @module
 */
import { type KubeObject, objectKey } from "../resources/object.ts";
import {
  builtinIndexers,
  type IndexErrorReporter,
  type Indexers,
  type IndexFunc,
  IndexSet,
} from "./indexes.ts";

/**
 * Read access to a store, as consumers get it.
 *
 * The objects are the cache's own: never mutate them (copy first, e.g. with `structuredClone`).
 */
export interface StoreReader<T extends KubeObject> {
  /** The object under `key` (`namespace/name`, or `name` for cluster-scoped objects). */
  get(key: string): T | undefined;
  has(key: string): boolean;
  /** Every object, in no particular order. */
  list(): T[];
  /** Every key, in no particular order. */
  keys(): string[];
  /** The number of objects. */
  readonly size: number;
  /** The objects under `value` in `index`; throws for an unknown index name. */
  byIndex(index: string, value: string): T[];
  /** The keys under `value` in `index`; throws for an unknown index name. */
  keysByIndex(index: string, value: string): string[];
  /** The values present in `index`, e.g. every namespace that has objects. */
  indexValues(index: string): string[];
  /** The names of the indexes. */
  indexNames(): string[];
}

/** One change a store went through, as consumers are told about it. */
export type StoreChange<T extends KubeObject> =
  | { type: "add"; object: T }
  | { type: "update"; old: T; object: T }
  | {
      type: "delete";
      /** The final state when known, else the last state the store held. */
      object: T;
      /** True when the object vanished while no watch was looking (found missing by a relist). */
      finalStateUnknown: boolean;
    };

/** Options of {@link Store}. */
export interface StoreOptions<T extends KubeObject> {
  /** Extra index functions by name, next to the built-in ones. */
  indexers?: Indexers<T>;
  /** Include the namespace, controller and label indexes. Default true. */
  builtinIndexes?: boolean;
  /** Called when an index function throws; the object is then left out of that index. */
  onIndexError?: IndexErrorReporter;
}

/** The resource version of an object, compared only for equality: it is opaque. */
function versionOf(object: KubeObject): string | undefined {
  return object.metadata.resourceVersion;
}

/** Whether two objects under the same key are different incarnations (deleted and recreated). */
export function differentIncarnations(a: KubeObject, b: KubeObject): boolean {
  const x = a.metadata.uid;
  const y = b.metadata.uid;
  return x !== undefined && y !== undefined && x !== y;
}

/** An indexed object store. Only its owner (an informer) writes to it. */
export class Store<T extends KubeObject> implements StoreReader<T> {
  readonly #objects = new Map<string, T>();
  readonly #indexes: IndexSet<T>;

  constructor(options: StoreOptions<T> = {}) {
    this.#indexes = new IndexSet<T>(options.onIndexError);
    if (options.builtinIndexes ?? true) this.addIndexers(builtinIndexers as Indexers<T>);
    if (options.indexers) this.addIndexers(options.indexers);
  }

  /** Adds indexes; they are built over the objects already present. */
  addIndexers(indexers: Indexers<T>): void {
    // Check every name first, so a conflict leaves the store unchanged.
    for (const [name, func] of Object.entries(indexers)) {
      const current = this.#indexes.func(name);
      if (current && current !== func) {
        throw new Error(`index "${name}" already exists with another function`);
      }
    }
    for (const [name, func] of Object.entries(indexers)) {
      this.#indexes.add(name, func as IndexFunc<T>, this.#objects.entries());
    }
  }

  get(key: string): T | undefined {
    return this.#objects.get(key);
  }

  has(key: string): boolean {
    return this.#objects.has(key);
  }

  list(): T[] {
    return [...this.#objects.values()];
  }

  keys(): string[] {
    return [...this.#objects.keys()];
  }

  get size(): number {
    return this.#objects.size;
  }

  byIndex(index: string, value: string): T[] {
    const result: T[] = [];
    for (const key of this.#indexes.keys(index, value)) {
      const object = this.#objects.get(key);
      if (object) result.push(object);
    }
    return result;
  }

  keysByIndex(index: string, value: string): string[] {
    return [...this.#indexes.keys(index, value)];
  }

  indexValues(index: string): string[] {
    return this.#indexes.values(index);
  }

  indexNames(): string[] {
    return this.#indexes.names();
  }

  /** Stores `object` under its key; returns what was there before. */
  upsert(object: T): T | undefined {
    const key = objectKey(object);
    const old = this.#objects.get(key);
    this.#objects.set(key, object);
    this.#indexes.update(key, old, object);
    return old;
  }

  /** Removes the object under `key`; returns it. */
  remove(key: string): T | undefined {
    const old = this.#objects.get(key);
    if (old === undefined) return undefined;
    this.#objects.delete(key);
    this.#indexes.update(key, old, undefined);
    return old;
  }

  /**
   * Makes the store hold exactly `objects` (a fresh full list) and returns the changes that took
   * it there: deletes (final state unknown) for objects that vanished, adds for new ones, updates
   * for objects whose resource version differs, and nothing for the unchanged. An object
   * recreated under the same name (another UID) is a delete of the old one and an add of the new.
   * Deletes come first; each key appears in at most one delete and one add or update.
   */
  replace(objects: Iterable<T>): StoreChange<T>[] {
    const incoming = new Map<string, T>();
    for (const object of objects) incoming.set(objectKey(object), object);
    const changes: StoreChange<T>[] = [];
    for (const [key, old] of this.#objects) {
      if (!incoming.has(key)) {
        this.remove(key);
        changes.push({ type: "delete", object: old, finalStateUnknown: true });
      }
    }
    for (const [key, object] of incoming) {
      const old = this.#objects.get(key);
      if (old === undefined) {
        this.upsert(object);
        changes.push({ type: "add", object });
      } else if (differentIncarnations(old, object)) {
        this.remove(key);
        changes.push({ type: "delete", object: old, finalStateUnknown: true });
        this.upsert(object);
        changes.push({ type: "add", object });
      } else if (versionOf(old) !== versionOf(object)) {
        this.upsert(object);
        changes.push({ type: "update", old, object });
      }
      // Unchanged: the stored object stays, so references consumers hold remain current.
    }
    return changes;
  }

  /** Removes everything (indexes included) without reporting changes. */
  clear(): void {
    this.#objects.clear();
    this.#indexes.clear();
  }
}
