/**
 * Kubernetes Events (`events.k8s.io/v1`) about parents: sync errors, child changes, conflicts,
 * finalizer outcomes. Repeats are folded into one Event's `series` and written at most once a
 * minute, and each object gets a small budget, so a failing parent cannot flood the API server.
 * Events are written in the background by a few writers from a bounded queue (as client-go's
 * broadcaster does): they never hold up a sync, and a burst of them (thousands of parents
 * converging at once) does not crowd out the writes of the children and statuses.
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { KubeClient } from "../client/client.ts";
import { TokenBucket } from "../common/token-bucket.ts";
import type { KubeObject } from "../resources/object.ts";

const EventType = {
  apiVersion: "events.k8s.io/v1",
  kind: "Event",
  plural: "events",
  namespaced: true,
} as const;

export interface EventInput {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  action?: string;
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** Reported as `reportingController` (`operon.dev/<name>`) and in `reportingInstance`. */
  controller: string;
  /** Events per object allowed in a burst. Default 25. */
  burst?: number;
  /** One more event per object per this many ms. Default 5 minutes (client-go's spam filter). */
  refillMs?: number;
  /** Repeats of the same event update its series at most this often. Default 60 s. */
  seriesIntervalMs?: number;
  /**
   * Normal Events written per second across all objects, after a burst of `normalBurst`
   * (default 10 and 100). Normal Events beyond it are dropped, Warnings never are: when thousands
   * of parents converge at once, their "created" Events must not cost the API server as much as
   * the work they describe.
   */
  normalQps?: number;
  normalBurst?: number;
  /** Event writes in flight at once. Default 2. */
  writers?: number;
  /** Event writes waiting beyond this many are dropped (and reported to `onError`). Default 1000. */
  maxQueued?: number;
  onError?: (error: unknown) => void;
  now?: () => number;
}

/** Raised (to `onError`) when an Event is dropped because too many are waiting to be written. */
export class EventQueueFullError extends Error {
  override readonly name = "EventQueueFullError";
}

interface SeriesState {
  name: string;
  namespace: string;
  count: number;
  lastWrite: number;
  firstSeen: number;
  dirty: boolean;
}

const maxNoteBytes = 1024;
const dropReportIntervalMs = 10_000;
const maxTracked = 4096;
/** After this long a repeat starts a new Event rather than extending the old series. */
const seriesLifetimeMs = 30 * 60_000;

function microTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 23)}000Z`;
}

export class EventRecorder {
  readonly #options: EventRecorderOptions;
  readonly #series = new Map<string, SeriesState>();
  readonly #budgets = new Map<string, { tokens: number; updated: number }>();
  readonly #instance: string;
  readonly #queue: (() => Promise<unknown>)[] = [];
  #active = 0;
  #dropped = 0;
  readonly #normalBudget: TokenBucket;
  #lastDropReport = Number.NEGATIVE_INFINITY;
  readonly #idle: (() => void)[] = [];

  constructor(options: EventRecorderOptions) {
    this.#options = options;
    this.#instance = `${options.controller}-${hostname()}`.slice(0, 128);
    this.#normalBudget = new TokenBucket({
      qps: options.normalQps ?? 10,
      burst: options.normalBurst ?? 100,
      now: () => this.#now(),
    });
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  #allow(uid: string): boolean {
    const burst = this.#options.burst ?? 25;
    const refill = this.#options.refillMs ?? 300_000;
    const now = this.#now();
    const budget = this.#budgets.get(uid) ?? { tokens: burst, updated: now };
    budget.tokens = Math.min(burst, budget.tokens + (now - budget.updated) / refill);
    budget.updated = now;
    this.#budgets.set(uid, budget);
    if (this.#budgets.size > maxTracked) forgetOldest(this.#budgets);
    if (budget.tokens < 1) return false;
    budget.tokens -= 1;
    return true;
  }

  /** Records an event about `regarding`. Never throws; failures go to `onError`. */
  record(regarding: KubeObject, event: EventInput): void {
    const uid =
      regarding.metadata.uid ??
      `${regarding.kind}/${regarding.metadata.namespace}/${regarding.metadata.name}`;
    const note = truncate(event.message);
    const action = event.action ?? event.reason;
    const key = `${uid}\u0000${event.type}\u0000${event.reason}\u0000${action}\u0000${note}`;
    const now = this.#now();
    const series = this.#series.get(key);
    if (series && now - series.firstSeen < seriesLifetimeMs) {
      series.count++;
      series.dirty = true;
      if (
        now - series.lastWrite >= (this.#options.seriesIntervalMs ?? 60_000) &&
        !this.#full(now)
      ) {
        series.lastWrite = now;
        series.dirty = false;
        const count = series.count;
        this.#enqueue(() => this.#patchSeries(series, count, now));
      }
      return;
    }
    if (this.#full(now) || !this.#allow(uid)) return;
    if (event.type === "Normal" && !this.#normalBudget.tryTake()) return;
    const namespace = regarding.metadata.namespace ?? "default";
    const name = `${regarding.metadata.name}.${randomBytes(8).toString("hex")}`;
    this.#series.set(key, {
      name,
      namespace,
      count: 1,
      lastWrite: now,
      firstSeen: now,
      dirty: false,
    });
    if (this.#series.size > maxTracked) forgetOldest(this.#series);
    this.#enqueue(() =>
      this.#options.client.create(EventType, {
        metadata: { name, namespace },
        eventTime: microTime(now),
        reportingController: `operon.dev/${this.#options.controller}`,
        reportingInstance: this.#instance,
        action,
        reason: event.reason,
        type: event.type,
        note,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: regarding.metadata.name,
          namespace: regarding.metadata.namespace,
          uid: regarding.metadata.uid,
          resourceVersion: regarding.metadata.resourceVersion,
        },
      } as never),
    );
  }

  async #patchSeries(series: SeriesState, count: number, now: number): Promise<void> {
    await this.#options.client.patch(
      EventType,
      series.name,
      { series: { count, lastObservedTime: microTime(now) } } as never,
      { namespace: series.namespace, type: "merge" },
    );
  }

  /**
   * True when the queue is full and this Event is dropped. Drops are counted and reported at
   * most every 10 s: a burst of thousands must not cost thousands of errors.
   */
  #full(now: number): boolean {
    if (this.#queue.length < (this.#options.maxQueued ?? 1000)) return false;
    this.#dropped++;
    if (now - this.#lastDropReport >= dropReportIntervalMs) {
      this.#lastDropReport = now;
      const dropped = this.#dropped;
      this.#dropped = 0;
      this.#options.onError?.(
        new EventQueueFullError(
          `dropped ${dropped} Event(s): ${this.#queue.length} are waiting to be written; the API server is slow or unreachable`,
        ),
      );
    }
    return true;
  }

  #enqueue(write: () => Promise<unknown>): void {
    this.#queue.push(write);
    this.#pump();
  }

  #pump(): void {
    const writers = this.#options.writers ?? 2;
    while (this.#active < writers && this.#queue.length > 0) {
      const write = this.#queue.shift()!;
      this.#active++;
      void write()
        .catch((error: unknown) => this.#options.onError?.(error))
        .finally(() => {
          this.#active--;
          this.#pump();
          if (this.#active === 0 && this.#queue.length === 0) {
            for (const resolve of this.#idle.splice(0)) resolve();
          }
        });
    }
  }

  /** Waits until every queued Event is written (on shutdown, and in tests). */
  async flush(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}

/**
 * Drops the oldest quarter of a bounded map in one pass. Dropping one entry per insertion from
 * the front leaves the map's table full of holes that every `keys().next()` walks over, which
 * made recording an Event cost time proportional to the number of tracked objects.
 */
function forgetOldest(map: Map<string, unknown>): void {
  let drop = Math.ceil(map.size / 4);
  for (const key of map.keys()) {
    if (drop-- <= 0) break;
    map.delete(key);
  }
}

function truncate(message: string): string {
  const bytes = Buffer.from(message);
  if (bytes.length <= maxNoteBytes) return message;
  return `${bytes
    .subarray(0, maxNoteBytes - 3)
    .toString()
    .replace(/\uFFFD$/, "")}...`;
}
