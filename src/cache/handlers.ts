/**
 * Event handlers and their delivery.
 *
 * Delivery model: each handler has its own FIFO of notifications. A notification is delivered as
 * soon as the handler is free: synchronously, inside the informer's processing of the change,
 * when the handler returns nothing; when it returns a promise, the handler's next notification
 * waits for that promise to settle. So every handler sees every change of every object in the
 * order the informer applied them, a slow or async handler delays only itself (its FIFO grows;
 * see {@link HandlerRegistration.pending}), and handlers that just enqueue keys cost nothing.
 * A handler that throws or rejects is reported and then given the next notification as usual.
 *
 * @module
 */
import type { KubeObject } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import { SyncWaiters } from "./sync-waiters.ts";

/** About an `add`. */
export interface AddInfo {
  /**
   * True when the object is part of the state the handler starts from: the informer's first
   * list, or the objects already cached when the handler was added.
   */
  initial: boolean;
}

/** About an `update`. */
export interface UpdateInfo {
  /** True for a periodic resync, which re-delivers an unchanged object (`old === object`). */
  resync: boolean;
}

/** About a `delete`. */
export interface DeleteInfo {
  /**
   * True when the object vanished while no watch was looking (found missing by a relist): the
   * object given is the last state the cache knew, not the state it was deleted in.
   */
  finalStateUnknown: boolean;
}

/**
 * Receives an informer's changes. Every method is optional; a returned promise holds back this
 * handler's next notification until it settles (see the module documentation).
 */
export interface EventHandler<T extends KubeObject> {
  add?(object: T, info: AddInfo): void | Promise<void>;
  update?(old: T, object: T, info: UpdateInfo): void | Promise<void>;
  delete?(object: T, info: DeleteInfo): void | Promise<void>;
}

/** Options of `Informer.addHandler`. */
export interface HandlerOptions {
  /**
   * Re-deliver every cached object as an `update` (with `resync: true`) about this often (ms),
   * each period shortened or lengthened at random by up to 10 % so handlers added together do
   * not resync together. Default: never. A resync is skipped while the previous one is still
   * being delivered.
   */
  resyncPeriodMs?: number;
  /** A name for log lines about this handler. */
  name?: string;
}

/** A handler added to an informer. */
export interface HandlerRegistration {
  /** True once this handler has been given the informer's complete initial state. */
  hasSynced(): boolean;
  /** Resolves once {@link hasSynced}; rejects when `signal` aborts or the handler is removed first. */
  waitForSync(signal?: AbortSignal): Promise<void>;
  /** Notifications queued for this handler and not yet delivered. */
  readonly pending: number;
  /** Stops deliveries to this handler and drops its queue. */
  remove(): void;
}

/** A queued notification. @internal */
export type Notification<T extends KubeObject> =
  | { type: "add"; object: T; initial: boolean }
  | { type: "update"; old: T; object: T }
  | { type: "delete"; object: T; finalStateUnknown: boolean }
  /** Re-delivery of a snapshot of the store, expanded one object at a time. */
  | { type: "resync"; objects: T[]; next: number }
  /** Marks the end of the initial state. */
  | { type: "synced" };

/** How a listener reports a failing handler. @internal */
export type HandlerFailureReporter = (event: string, key: string, error: unknown) => void;

/** Queue length at which a backlog is first reported; then at every further factor of 10. */
const backlogWarning = 10_000;

/**
 * One handler's FIFO and delivery pump. @internal used by the informer
 */
export class Listener<T extends KubeObject> implements HandlerRegistration {
  readonly name: string | undefined;
  readonly resyncPeriodMs: number | undefined;
  readonly #handler: EventHandler<T>;
  readonly #onFailure: HandlerFailureReporter;
  readonly #onBacklog: (pending: number) => void;
  readonly #onRemove: () => void;
  #queue: Notification<T>[] = [];
  #head = 0;
  #busy = false;
  #draining = false;
  #removed = false;
  #synced = false;
  #resyncQueued = false;
  #syncError: Error | undefined;
  #nextBacklogWarning = backlogWarning;
  readonly #syncWaiters = new SyncWaiters();

  constructor(
    handler: EventHandler<T>,
    options: HandlerOptions,
    hooks: {
      onFailure: HandlerFailureReporter;
      onBacklog: (pending: number) => void;
      onRemove: () => void;
    },
  ) {
    this.#handler = handler;
    this.name = options.name;
    this.resyncPeriodMs = options.resyncPeriodMs;
    this.#onFailure = hooks.onFailure;
    this.#onBacklog = hooks.onBacklog;
    this.#onRemove = hooks.onRemove;
  }

  get pending(): number {
    let count = 0;
    for (let i = this.#head; i < this.#queue.length; i++) {
      const n = this.#queue[i]!;
      if (n.type === "resync") count += n.objects.length - n.next;
      else if (n.type !== "synced") count++;
    }
    return count;
  }

  get removed(): boolean {
    return this.#removed;
  }

  /** Whether a resync is queued and not yet fully delivered. */
  get resyncQueued(): boolean {
    return this.#resyncQueued;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    if (this.#removed) return Promise.reject(new Error("the handler was removed before it synced"));
    if (this.#syncError) return Promise.reject(this.#syncError);
    return this.#syncWaiters.wait(signal);
  }

  /** Rejects the sync waiters: the informer stopped before this handler could sync. */
  failSync(error: Error): void {
    if (this.#synced) return;
    this.#syncError = error;
    this.#syncWaiters.rejectAll(error);
  }

  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#queue = [];
    this.#head = 0;
    this.#syncWaiters.rejectAll(new Error("the handler was removed before it synced"));
    this.#onRemove();
  }

  /** Queues a notification and delivers what it can right away. */
  push(notification: Notification<T>): void {
    if (this.#removed) return;
    if (notification.type === "resync") this.#resyncQueued = true;
    this.#queue.push(notification);
    const length = this.#queue.length - this.#head;
    if (length >= this.#nextBacklogWarning) {
      this.#nextBacklogWarning *= 10;
      this.#onBacklog(length);
    }
    this.#drain();
  }

  #drain(): void {
    // `draining` stops re-entry: a handler that causes another push (directly or through the
    // informer) must not see that notification before its current one returns.
    if (this.#busy || this.#draining) return;
    this.#draining = true;
    try {
      while (!this.#busy && !this.#removed && this.#head < this.#queue.length) {
        const result = this.#deliverNext();
        if (result) {
          this.#busy = true;
          result.then(
            () => this.#afterAsync(),
            () => this.#afterAsync(),
          );
        }
      }
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    } finally {
      this.#draining = false;
    }
  }

  #afterAsync(): void {
    this.#busy = false;
    this.#drain();
  }

  /** Delivers the head notification; returns a promise when the handler went async. */
  #deliverNext(): Promise<void> | undefined {
    const n = this.#queue[this.#head]!;
    switch (n.type) {
      case "synced":
        this.#head++;
        this.#markSynced();
        return undefined;
      case "resync": {
        const object = n.objects[n.next++]!;
        if (n.next >= n.objects.length) {
          this.#head++;
          this.#resyncQueued = false;
        }
        return this.#call("update", object, () =>
          this.#handler.update?.(object, object, { resync: true }),
        );
      }
      case "add":
        this.#head++;
        return this.#call("add", n.object, () =>
          this.#handler.add?.(n.object, { initial: n.initial }),
        );
      case "update":
        this.#head++;
        return this.#call("update", n.object, () =>
          this.#handler.update?.(n.old, n.object, { resync: false }),
        );
      case "delete":
        this.#head++;
        return this.#call("delete", n.object, () =>
          this.#handler.delete?.(n.object, { finalStateUnknown: n.finalStateUnknown }),
        );
    }
  }

  #call(event: string, object: T, invoke: () => unknown): Promise<void> | undefined {
    let result: unknown;
    try {
      result = invoke();
    } catch (error) {
      this.#onFailure(event, objectKey(object), error);
      return undefined;
    }
    if (!isThenable(result)) return undefined;
    return Promise.resolve(result).then(
      () => {},
      (error: unknown) => this.#onFailure(event, objectKey(object), error),
    );
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    this.#syncWaiters.resolveAll();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
