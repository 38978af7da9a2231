/**
 * A controller: event sources (informers of the primary type, of owned types, of related types)
 * turn into keys on one work queue, and a reconcile function runs for each key with backoff on
 * failure and delayed requeue on request. It also remembers *why* each key was queued, so the
 * reconcile function can tell its caller.
 */
import type { EventHandler, HandlerRegistration, Informer } from "../cache/index.ts";
import {
  type Backoff,
  type RateLimiter,
  type RetryInfo,
  WorkQueue,
  type WorkQueueMetrics,
} from "../queue/index.ts";
import type { KubeObject } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";

/** Why a key was queued. */
export type TriggerReason =
  | "primary-changed"
  | "owned-changed"
  /** An owned object changed because of this controller's own write (its watch echo). */
  | "own-write"
  | "related-changed"
  | "resync"
  | "requeue"
  | "retry"
  | "manual";

/** An object and the version of it that was seen. */
export interface ObjectVersion {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

/** What queued a key: the reason and, for watch events, the object and how it changed. */
export interface TriggerEvent {
  reason: TriggerReason;
  /** The watch event (absent for requeues, retries and manual queueing). */
  event?: "added" | "modified" | "deleted" | "resync";
  object?: ObjectVersion;
  /** When it was noted (ms since the epoch). */
  at: number;
}

/** Most trigger events kept per key between two runs (the latest). */
export const maxTriggersPerKey = 10;

const ignore = () => {};

/** What a reconcile receives besides the key. */
export interface ReconcileContext {
  /** Every reason the key was queued for since its previous run began (never empty). */
  readonly reasons: ReadonlySet<TriggerReason>;
  /**
   * With `recordTriggers`: the latest events that queued the key since its previous run began
   * (at most {@link maxTriggersPerKey}), oldest first.
   */
  readonly triggers?: readonly TriggerEvent[];
  /** Consecutive failures before this run (0 on a first try). */
  readonly failures: number;
  /** Aborted when the controller shuts down past its drain timeout. */
  readonly signal: AbortSignal;
}

/** What a reconcile may ask for. */
export interface ReconcileResult {
  /** Run this key again after this many milliseconds, even if nothing changes. */
  requeueAfterMs?: number;
}

export type Reconcile = (
  key: string,
  context: ReconcileContext,
) => Promise<ReconcileResult | undefined>;

/** Decides whether an update of a watched object should queue anything. */
export type UpdatePredicate<T extends KubeObject> = (old: T, object: T) => boolean;

/** Tells why an event of a watched object queues its keys. */
export type ReasonOf<T extends KubeObject> = (object: T, deleted: boolean) => TriggerReason;

/** Maps an object of a watched type to the keys it concerns. */
export type KeyMapper<T extends KubeObject> = (object: T) => Iterable<string>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  concurrency?: number;
  /** Coalesce bursts: a key runs at most once per this many ms. Default 0. */
  debounceMs?: number;
  backoff?: Backoff;
  rateLimiter?: RateLimiter | false;
  metrics?: WorkQueueMetrics;
  /** Re-deliver every primary object this often (with ±10 % jitter). Default: never. */
  resyncPeriodMs?: number;
  onError?: (key: string, error: unknown, retry: RetryInfo) => void;
  /** Keep the object and watch event behind each queueing (for traces). Default false. */
  recordTriggers?: boolean;
}

/**
 * Runs a reconcile function for keys coming from watch events.
 *
 * @example
 * const controller = new Controller({ name: "widgets", reconcile: async (key, { reasons }) => {...} });
 * controller.watchPrimary(widgetInformer);
 * controller.watchMapped(podInformer, (pod) => [`${pod.metadata.namespace}/${pod.metadata.labels?.widget}`]);
 * controller.start();
 */
export class Controller {
  readonly name: string;
  readonly #queue: WorkQueue;
  readonly #options: ControllerOptions;
  readonly #pending = new Map<string, Set<TriggerReason>>();
  /** With `recordTriggers`: the events behind the pending reasons, per key. */
  readonly #triggers = new Map<string, TriggerEvent[]>();
  readonly #registrations: HandlerRegistration[] = [];
  /** Keys let go of (another replica takes them over): never run until resumed. */
  readonly #draining = new Set<string>();
  /** The run in progress of each key, settled when it ends (however it ends). */
  readonly #runs = new Map<string, Promise<unknown>>();
  #started = false;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#queue = new WorkQueue({
      name: options.name,
      concurrency: options.concurrency,
      debounceMs: options.debounceMs,
      backoff: options.backoff,
      rateLimiter: options.rateLimiter,
      metrics: options.metrics,
      onError: options.onError,
      process: async (key, { signal, failures }) => {
        if (this.#draining.has(key)) {
          // Queued or delayed before the drain: dropped now.
          this.#pending.delete(key);
          this.#triggers.delete(key);
          return undefined;
        }
        const reasons =
          this.#pending.get(key) ?? new Set<TriggerReason>([failures > 0 ? "retry" : "requeue"]);
        this.#pending.delete(key);
        let triggers: TriggerEvent[] | undefined;
        if (options.recordTriggers) {
          triggers = this.#triggers.get(key) ?? [
            { reason: failures > 0 ? "retry" : "requeue", at: Date.now() },
          ];
          this.#triggers.delete(key);
        }
        const run = options.reconcile(
          key,
          triggers ? { reasons, failures, signal, triggers } : { reasons, failures, signal },
        );
        this.#runs.set(key, run);
        try {
          const result = await run;
          if (result?.requeueAfterMs !== undefined && !this.#draining.has(key)) {
            this.#note(key, "requeue");
            return { requeueAfterMs: Math.max(0, result.requeueAfterMs) };
          }
          return undefined;
        } finally {
          this.#runs.delete(key);
        }
      },
    });
  }

  /** Queues `key` now (not while it is drained). */
  enqueue(key: string, reason: TriggerReason = "manual"): void {
    if (this.#draining.has(key)) return;
    this.#note(key, reason);
    this.#queue.add(key);
  }

  /** Queues `key` after `delayMs` (not while it is drained). */
  enqueueAfter(key: string, delayMs: number, reason: TriggerReason = "requeue"): void {
    if (this.#draining.has(key)) return;
    this.#note(key, reason);
    this.#queue.addAfter(key, delayMs);
  }

  /**
   * Lets go of `key`, for another process to take it over: it does not run again (queued, delayed
   * and retried runs are dropped, new events ignored) until {@link resume}. Resolves once no run
   * of it is in progress any more, at once when none is. A run in progress is not aborted: it
   * finishes what it started.
   *
   * @example
   * await controller.drain("default/web"); // now no reconcile of default/web runs here
   */
  drain(key: string): Promise<void> {
    this.#draining.add(key);
    this.#pending.delete(key);
    this.#triggers.delete(key);
    this.#queue.forget(key);
    const run = this.#runs.get(key);
    return run ? run.then(ignore, ignore) : Promise.resolve();
  }

  /** Takes `key` back after {@link drain}; the next event (or {@link enqueue}) runs it again. */
  resume(key: string): void {
    this.#draining.delete(key);
  }

  /** Whether `key` is drained. */
  isDraining(key: string): boolean {
    return this.#draining.has(key);
  }

  #note(
    key: string,
    reason: TriggerReason,
    event?: TriggerEvent["event"],
    object?: KubeObject,
  ): void {
    let reasons = this.#pending.get(key);
    if (!reasons) {
      reasons = new Set();
      this.#pending.set(key, reasons);
    }
    reasons.add(reason);
    if (!this.#options.recordTriggers) return;
    let list = this.#triggers.get(key);
    if (!list) {
      list = [];
      this.#triggers.set(key, list);
    }
    const trigger: TriggerEvent = { reason, at: Date.now() };
    if (event) trigger.event = event;
    if (object) trigger.object = objectVersion(object);
    list.push(trigger);
    // Before the queue starts (a standby), keep only the latest: a whole standby period of
    // events per parent would be memory for nothing.
    if (list.length > (this.#started ? maxTriggersPerKey : 1)) list.shift();
  }

  /** Queues `key` for a watch event of `object`. */
  #enqueueFor(
    key: string,
    reason: TriggerReason,
    event: NonNullable<TriggerEvent["event"]>,
    object: KubeObject,
  ): void {
    if (this.#draining.has(key)) return;
    this.#note(key, reason, event, object);
    this.#queue.add(key);
  }

  /** Watches the primary type: each object's own key is queued when it is added, changed or deleted. */
  watchPrimary<T extends KubeObject>(informer: Informer<T>, predicate?: UpdatePredicate<T>): void {
    this.#watch(
      informer,
      (object) => [objectKey(object)],
      "primary-changed",
      predicate,
      this.#options.resyncPeriodMs,
    );
  }

  /** Watches a secondary type whose objects map to primary keys (owned children or related objects). */
  watchMapped<T extends KubeObject>(
    informer: Informer<T>,
    map: KeyMapper<T>,
    reason: TriggerReason | ReasonOf<T> = "related-changed",
    predicate?: UpdatePredicate<T>,
  ): void {
    this.#watch(informer, map, reason, predicate);
  }

  #watch<T extends KubeObject>(
    informer: Informer<T>,
    map: KeyMapper<T>,
    reason: TriggerReason | ReasonOf<T>,
    predicate?: UpdatePredicate<T>,
    resyncPeriodMs?: number,
  ): void {
    const why = (object: T, deleted: boolean): TriggerReason =>
      typeof reason === "function" ? reason(object, deleted) : reason;
    const enqueueAll = (object: T, deleted: boolean) => {
      const trigger = why(object, deleted);
      const event = deleted ? "deleted" : "added";
      for (const key of map(object)) this.#enqueueFor(key, trigger, event, object);
    };
    const handler: EventHandler<T> = {
      add: (object) => enqueueAll(object, false),
      update: (old, object, info) => {
        if (info.resync) {
          for (const key of map(object)) this.#enqueueFor(key, "resync", "resync", object);
          return;
        }
        if (predicate && !predicate(old, object)) return;
        // A changed mapping (e.g. a label moved an object to another parent) concerns both.
        const trigger = why(object, false);
        const keys = new Set([...map(old), ...map(object)]);
        for (const key of keys) this.#enqueueFor(key, trigger, "modified", object);
      },
      delete: (object) => enqueueAll(object, true),
    };
    // Named for log lines: the controller and the type it watches (`reason` may be a function).
    const name = `${this.name}/${informer.id.apiVersion}/${informer.id.kind}`;
    this.#registrations.push(informer.addHandler(handler, { name, resyncPeriodMs }));
  }

  /** Waits for every source to sync, then starts processing keys. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    // Each handler has then been given its source's complete initial state, so the first
    // reconciles see full caches.
    await Promise.all(this.#registrations.map((registration) => registration.waitForSync(signal)));
    this.#queue.start();
  }

  /** Stops taking work and waits up to `timeoutMs` for running reconciles; true if they finished. */
  async shutdown(timeoutMs?: number): Promise<boolean> {
    for (const registration of this.#registrations) registration.remove();
    return this.#queue.shutdown(timeoutMs);
  }

  /** Queue statistics, for health checks and tests. */
  stats(): { queued: number; delayed: number; running: number } {
    return this.#queue.stats();
  }
}

/** Names `object` at the version seen: what traces record of what triggered or was read. */
export function objectVersion(object: KubeObject): ObjectVersion {
  const { namespace, name, uid, resourceVersion } = object.metadata;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    ...(namespace ? { namespace } : {}),
    name: name ?? "",
    ...(uid ? { uid } : {}),
    ...(resourceVersion ? { resourceVersion } : {}),
  };
}
