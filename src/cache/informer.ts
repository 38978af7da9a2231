/**
 * An informer: a store kept current by a reflector, handlers told about every change, and the
 * "synced" signal that says when the store first held the complete state.
 *
 * @module
 */

import { type Logger, silentLogger } from "../logger.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import { describeFailure } from "./failures.ts";
import {
  type EventHandler,
  type HandlerOptions,
  type HandlerRegistration,
  Listener,
  type Notification,
} from "./handlers.ts";
import type { Indexers } from "./indexes.ts";
import {
  describeInformer,
  type InformerId,
  type InformerObserver,
  type InformerStats,
  type ListInfo,
} from "./observer.ts";
import { Reflector, type ReflectorTuning } from "./reflector.ts";
import type { ListWatchClient, Selection } from "./source.ts";
import { differentIncarnations, Store, type StoreChange, type StoreReader } from "./store.ts";
import { SyncWaiters } from "./sync-waiters.ts";
import { defaultTransform, type Transform } from "./transform.ts";

/** Options of {@link Informer}. */
export interface InformerOptions<T extends KubeObject> extends ReflectorTuning {
  client: ListWatchClient;
  type: ResourceType<T>;
  /** Only objects in this namespace. Default: all namespaces. */
  namespace?: string;
  /** Only objects matching this label selector, e.g. `app=web`. */
  labelSelector?: string;
  /** Only objects matching this field selector, e.g. `spec.nodeName=n1`. */
  fieldSelector?: string;
  /** Store `PartialObjectMetadata` (metadata only); see {@link Selection.metadataOnly}. */
  metadataOnly?: boolean;
  /**
   * Applied to every object before it is stored or handed to handlers. Default:
   * {@link defaultTransform} (drops `managedFields`, interns repeating strings); pass
   * `keepObject` to store objects as sent.
   */
  transform?: Transform<T>;
  /** Index functions by name, next to the built-in namespace, controller and label indexes. */
  indexers?: Indexers<T>;
  /** Include the built-in indexes. Default true. */
  builtinIndexes?: boolean;
  /** Default: silent. */
  logger?: Logger;
  observer?: InformerObserver;
  /** Uniform random source in [0, 1) for jitter; injectable for tests. */
  random?: () => number;
}

/** Builds an informer's id from its options, with empty strings treated as absent. */
export function informerId(options: {
  type: ResourceType;
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  metadataOnly?: boolean | undefined;
}): InformerId {
  return {
    apiVersion: options.type.apiVersion,
    kind: options.type.kind,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
    metadataOnly: options.metadataOnly ?? false,
  };
}

/**
 * Keeps an indexed in-memory copy of the objects of one resource type (within a namespace and
 * selectors) and tells handlers about every change.
 *
 * Guarantees:
 * - the store is only ever replaced by a complete state, or changed one watch event at a time,
 *   in the server's order; handlers see the same changes, in the same order;
 * - a relist emits deletes (final state unknown) for objects that vanished, updates for objects
 *   whose resource version changed, and nothing for unchanged objects;
 * - events that repeat the stored resource version are not re-delivered;
 * - a handler added late first receives the cached objects as `add` with `initial: true`.
 *
 * @example
 * const informer = new Informer({ client, type: ConfigMap, namespace: "prod" });
 * informer.addHandler({ add: (cm) => queue.add(objectKey(cm)) });
 * informer.start(signal);
 * await informer.waitForSync(signal);
 * const cm = informer.store.get("prod/settings");
 */
export class Informer<T extends KubeObject> {
  readonly id: InformerId;
  readonly #label: string;
  readonly #store: Store<T>;
  readonly #reflector: Reflector<T>;
  readonly #logger: Logger;
  readonly #observer: InformerObserver | undefined;
  readonly #random: () => number;
  readonly #listeners = new Set<Listener<T>>();
  readonly #resyncTimers = new Map<Listener<T>, NodeJS.Timeout>();
  readonly #syncWaiters = new SyncWaiters();
  #synced = false;
  #state: "new" | "running" | "stopped" = "new";
  #controller: AbortController | undefined;
  #done: Promise<void> = Promise.resolve();

  constructor(options: InformerOptions<T>) {
    this.id = informerId(options);
    this.#label = describeInformer(this.id);
    this.#logger = options.logger ?? silentLogger;
    this.#observer = options.observer;
    this.#random = options.random ?? Math.random;
    this.#store = new Store<T>({
      ...(options.indexers ? { indexers: options.indexers } : {}),
      builtinIndexes: options.builtinIndexes ?? true,
      onIndexError: (index, key, error) =>
        this.#logger.error(
          { informer: this.#label, index, key, error: describeFailure(error) },
          "index function threw; object left out of that index",
        ),
    });
    const selection: Selection = {
      ...(this.id.namespace ? { namespace: this.id.namespace } : {}),
      ...(this.id.labelSelector ? { labelSelector: this.id.labelSelector } : {}),
      ...(this.id.fieldSelector ? { fieldSelector: this.id.fieldSelector } : {}),
      ...(this.id.metadataOnly ? { metadataOnly: true } : {}),
    };
    this.#reflector = new Reflector<T>({
      ...options,
      type: options.type,
      id: this.id,
      selection,
      transform: options.transform ?? defaultTransform,
      logger: this.#logger,
      random: this.#random,
      sink: {
        replace: (objects, info) => this.#replace(objects, info),
        apply: (type, object) => this.#apply(type, object),
      },
      ...(options.observer ? { observer: options.observer } : {}),
    });
  }

  /** The cached objects. Read-only; never mutate the objects it returns. */
  get store(): StoreReader<T> {
    return this.#store;
  }

  /** Whether the list/watch loop is running. */
  get running(): boolean {
    return this.#state === "running";
  }

  /** True once the store has held the complete state (the first list); stays true. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /**
   * Resolves once {@link hasSynced}. Rejects with the signal's reason when `signal` aborts first,
   * or when the informer is stopped before it synced.
   */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#state === "stopped") return Promise.reject(this.#stoppedError());
    return this.#syncWaiters.wait(signal);
  }

  /**
   * Adds a handler. When the informer has synced already, the handler first receives every
   * cached object as an `add` with `initial: true`.
   */
  addHandler(handler: EventHandler<T>, options: HandlerOptions = {}): HandlerRegistration {
    const period = options.resyncPeriodMs;
    if (period !== undefined && !(period > 0)) {
      throw new RangeError(`resyncPeriodMs must be positive, got ${period}`);
    }
    const listener: Listener<T> = new Listener<T>(handler, options, {
      onFailure: (event, key, error) => this.#handlerFailed(listener, event, key, error),
      onBacklog: (pending) =>
        this.#logger.warn(
          { informer: this.#label, handler: listener.name, pending },
          "handler is falling behind; notifications are piling up",
        ),
      onRemove: () => {
        this.#listeners.delete(listener);
        clearTimeout(this.#resyncTimers.get(listener));
        this.#resyncTimers.delete(listener);
      },
    });
    this.#listeners.add(listener);
    if (this.#synced) {
      for (const object of this.#store.list()) {
        listener.push({ type: "add", object, initial: true });
      }
      listener.push({ type: "synced" });
    }
    if (this.#state === "running") this.#scheduleResync(listener);
    return listener;
  }

  /** Adds indexes, built over the objects already cached. */
  addIndexers(indexers: Indexers<T>): void {
    this.#store.addIndexers(indexers);
  }

  /**
   * Starts the list/watch loop (once; later calls do nothing). It runs until `signal` aborts or
   * {@link stop} is called. A stopped informer cannot be started again.
   */
  start(signal?: AbortSignal): void {
    if (this.#state !== "new") return;
    if (signal?.aborted) {
      this.#state = "stopped";
      this.#failSyncWaiters();
      return;
    }
    this.#state = "running";
    const controller = new AbortController();
    this.#controller = controller;
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    for (const listener of this.#listeners) this.#scheduleResync(listener);
    this.#logger.debug({ informer: this.#label }, "informer starting");
    this.#done = this.#reflector
      .run(controller.signal)
      .catch((error: unknown) => {
        // The loop handles its own failures; reaching here is a bug, and must still not crash.
        this.#logger.error(
          { informer: this.#label, error: describeFailure(error) },
          "informer loop failed unexpectedly",
        );
      })
      .finally(() => {
        signal?.removeEventListener("abort", onAbort);
        this.#state = "stopped";
        for (const timer of this.#resyncTimers.values()) clearTimeout(timer);
        this.#resyncTimers.clear();
        this.#failSyncWaiters();
        this.#logger.debug({ informer: this.#label }, "informer stopped");
      });
  }

  /** Stops the loop; resolves once its HTTP stream is released. */
  async stop(): Promise<void> {
    if (this.#state === "new") {
      this.#state = "stopped";
      this.#failSyncWaiters();
      return;
    }
    this.#controller?.abort();
    await this.#done;
  }

  /** A snapshot of the informer's counters. */
  stats(): InformerStats {
    const reflector = this.#reflector.stats();
    let pending = 0;
    for (const listener of this.#listeners) pending += listener.pending;
    return {
      id: this.id,
      objects: this.#store.size,
      synced: this.#synced,
      running: this.#state === "running",
      lists: reflector.lists,
      restarts: reflector.restarts,
      lastSyncTime: reflector.lastSyncTime,
      lastEventTime: reflector.lastEventTime,
      resourceVersion: reflector.resourceVersion,
      listMode: reflector.listMode,
      handlers: this.#listeners.size,
      pendingNotifications: pending,
    };
  }

  #replace(objects: T[], info: ListInfo): void {
    const initial = !this.#synced;
    const changes = this.#store.replace(objects);
    for (const change of changes) this.#notify(toNotification(change, initial));
    if (changes.length > 0 && !initial) {
      this.#logger.info(
        { informer: this.#label, changes: changes.length, mode: info.mode },
        "relist found changes missed while not watching",
      );
    }
    if (initial) {
      this.#synced = true;
      this.#notify({ type: "synced" });
      this.#syncWaiters.resolveAll();
      this.#logger.info({ informer: this.#label, objects: this.#store.size }, "informer synced");
      try {
        this.#observer?.synced?.(this.id, { objects: this.#store.size });
      } catch {
        // Observer hooks must never break the informer.
      }
    }
  }

  #apply(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void {
    const key = objectKey(object);
    if (type === "DELETED") {
      const old = this.#store.remove(key);
      // A delete of something never stored (already removed by a relist) is not news.
      if (old !== undefined) {
        this.#notify({ type: "delete", object, finalStateUnknown: false });
      }
      return;
    }
    const old = this.#store.get(key);
    if (old === undefined) {
      this.#store.upsert(object);
      this.#notify({ type: "add", object, initial: false });
    } else if (differentIncarnations(old, object)) {
      // The old object's delete was never seen (should not happen on one watch); say so.
      this.#store.upsert(object);
      this.#notify({ type: "delete", object: old, finalStateUnknown: true });
      this.#notify({ type: "add", object, initial: false });
    } else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) {
      this.#store.upsert(object);
      this.#notify({ type: "update", old, object });
    }
    // Same resource version: a repeat of what is stored; nothing to tell.
  }

  #notify(notification: Notification<T>): void {
    for (const listener of this.#listeners) listener.push(notification);
  }

  #handlerFailed(listener: Listener<T>, event: string, key: string, error: unknown): void {
    this.#logger.error(
      {
        informer: this.#label,
        handler: listener.name,
        event,
        key,
        error: describeFailure(error),
        ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
      },
      "event handler failed",
    );
    try {
      this.#observer?.handlerFailed?.(this.id, { event, key, error });
    } catch {
      // Observer hooks must never break the informer.
    }
  }

  #scheduleResync(listener: Listener<T>): void {
    const period = listener.resyncPeriodMs;
    if (period === undefined || listener.removed || this.#state !== "running") return;
    const delay = period * (0.9 + 0.2 * this.#random());
    const timer = setTimeout(() => {
      this.#resyncTimers.delete(listener);
      if (this.#state !== "running" || listener.removed) return;
      if (this.#synced && !listener.resyncQueued && this.#store.size > 0) {
        listener.push({ type: "resync", objects: this.#store.list(), next: 0 });
      }
      this.#scheduleResync(listener);
    }, delay);
    // Resyncs alone should not keep a process alive.
    timer.unref();
    this.#resyncTimers.set(listener, timer);
  }

  #stoppedError(): Error {
    return new Error(`informer ${this.#label} stopped before it synced`);
  }

  #failSyncWaiters(): void {
    if (this.#synced) return;
    const error = this.#stoppedError();
    this.#syncWaiters.rejectAll(error);
    for (const listener of this.#listeners) listener.failSync(error);
  }
}

function toNotification<T extends KubeObject>(
  change: StoreChange<T>,
  initial: boolean,
): Notification<T> {
  switch (change.type) {
    case "add":
      return { type: "add", object: change.object, initial };
    case "update":
      return { type: "update", old: change.old, object: change.object };
    case "delete":
      return { type: "delete", object: change.object, finalStateUnknown: change.finalStateUnknown };
  }
}
