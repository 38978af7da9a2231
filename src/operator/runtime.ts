/**
 * Runs one declared operator: informers for the parent, child and related types (shared with
 * other operators through the factory), a controller that maps their events to parent keys, and
 * the reconciler for each key.
 */

import type { HandlerRegistration } from "../cache/handlers.ts";
import type { Informer } from "../cache/informer.ts";
import type { InformerFactory } from "../cache/shared-informers.ts";
import type { KubeClient } from "../client/client.ts";
import { formatSelector } from "../client/paths.ts";
import { Controller, type Reconcile, type TriggerReason } from "../controller/controller.ts";
import type { WorkQueueMetrics } from "../queue/index.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import type { ReconcileAttempt } from "./attempt.ts";
import type { Operator, RelatedDeclaration } from "./declaration.ts";
import type { ChildTypeInfo } from "./desired.ts";
import { AppliedMemory } from "./drift.ts";
import { EventRecorder, type EventRecorderOptions } from "./events.ts";
import { managedByLabel, parentKeyOf } from "./ownership.ts";
import { type OperatorLogger, ParentReconciler, type SyncOutcome } from "./reconciler.ts";

export interface OperatorRuntimeOptions {
  client: KubeClient;
  informers: InformerFactory;
  logger: OperatorLogger;
  queueMetrics?: WorkQueueMetrics;
  onOutcome?: (key: string, outcome: SyncOutcome) => void;
  /** Wraps the reconcile function the controller runs (the manager measures and watches it). */
  instrument?: (reconcile: Reconcile) => Reconcile;
  /** Aggregation and rate limits of the operator's Events. */
  events?: Pick<EventRecorderOptions, "burst" | "refillMs" | "seriesIntervalMs">;
  /** The time `sync` sees as `request.now`. Default: the system clock. */
  clock?: () => Date;
  /**
   * Record each attempt's detail for traces: the watch events that queued it, the versions read,
   * field diffs and API writes. Default false (no cost).
   */
  trace?: boolean;
  /**
   * `operon plan`: write no Events and clean up no parent being deleted (the client given should
   * make every write a dry run). Default false.
   */
  planOnly?: boolean;
  /**
   * Run on a part of the parents only: those carrying all these labels (a label selector on the
   * server, so nothing else is sent or cached). Children are written with the same labels and
   * cached by them too. The manager's sharding sets it to this replica's shard.
   */
  partition?: { labels: Readonly<Record<string, string>> };
}

/** A child type's informer, as {@link OperatorRuntime.informers} lists them. */
export interface ChildInformer {
  type: ResourceType;
  informer: Informer<KubeObject>;
}

const defaultResyncMs = 10 * 60_000;

function labelsMatch(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** The parent changed in a way that needs a sync: not for status-only writes (Operon's own). */
function parentNeedsSync(old: KubeObject, object: KubeObject): boolean {
  const a = old.metadata;
  const b = object.metadata;
  if (a.generation !== b.generation || a.generation === undefined) {
    // Kinds without generation (no status subresource) change it never: compare everything
    // but status instead.
    if (a.generation === undefined) {
      const { status: _old, metadata: _m1, ...restOld } = old;
      const { status: _new, metadata: _m2, ...restNew } = object;
      if (JSON.stringify(restOld) !== JSON.stringify(restNew)) return true;
    } else {
      return true;
    }
  }
  return (
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.labels) !== JSON.stringify(b.labels) ||
    JSON.stringify(a.annotations) !== JSON.stringify(b.annotations) ||
    JSON.stringify(a.finalizers) !== JSON.stringify(b.finalizers)
  );
}

export class OperatorRuntime {
  readonly operator: Operator;
  readonly memory = new AppliedMemory();
  readonly recorder: EventRecorder;
  /** Most parents synced at once. */
  readonly concurrency: number;
  readonly #options: OperatorRuntimeOptions;
  #controller: Controller | undefined;
  #parents: Informer<KubeObject> | undefined;
  readonly #children = new Map<string, ChildInformer>();
  readonly #forgetters: HandlerRegistration[] = [];
  #reconciler: ParentReconciler | undefined;

  constructor(operator: Operator, options: OperatorRuntimeOptions) {
    this.operator = operator;
    this.#options = options;
    this.concurrency = operator.concurrency ?? 8;
    this.recorder = new EventRecorder({
      ...options.events,
      client: options.client,
      controller: operator.name,
      onError: (error) => options.logger.debug({ err: error }, "could not record an event"),
    });
  }

  async #namespaced(type: ResourceType): Promise<boolean> {
    if (type.namespaced !== undefined) return type.namespaced;
    return (await this.#options.client.discovery.resourceFor(type)).namespaced;
  }

  /** Sets up informers and the controller. Call before the informer factory starts. */
  async setup(): Promise<void> {
    const { operator } = this;
    const { informers, client, logger } = this.#options;
    const parentNamespaced = await this.#namespaced(operator.parent);
    const scope = (namespaced: boolean) =>
      namespaced && operator.namespace ? { namespace: operator.namespace } : {};
    const partition = formatSelector(this.#options.partition?.labels ?? {});
    const withPartition = (selector: string | undefined) =>
      [selector, partition].filter(Boolean).join(",") || undefined;

    const parentSelector = withPartition(undefined);
    const parents = informers.informer(operator.parent, {
      ...scope(parentNamespaced),
      ...(parentSelector ? { labelSelector: parentSelector } : {}),
    });
    this.#parents = parents;
    const childTypes = new Map<string, ChildTypeInfo>();
    const childInformers = new Map<string, Informer<KubeObject>>();
    for (const [group, declaration] of operator.childTypes) {
      const namespaced = await this.#namespaced(declaration.type);
      childTypes.set(`${declaration.type.apiVersion}/${declaration.type.kind}`, {
        group,
        type: declaration.type,
        strategy: declaration.strategy,
        propagationPolicy: declaration.propagationPolicy,
        retained: declaration.whenParentDeleted === "Retain",
        namespaced,
      });
      // Only objects carrying this operator's label are cached: a cluster's worth of ConfigMaps
      // would cost memory for nothing. Lookups of other names go to the server.
      const informer = informers.informer(declaration.type, {
        ...scope(namespaced),
        labelSelector: withPartition(`${managedByLabel}=${operator.name}`)!,
      });
      childInformers.set(group, informer);
      this.#children.set(group, { type: declaration.type, informer });
    }

    const relatedInformers = new Map<
      string,
      { declaration: RelatedDeclaration; informer: Informer<KubeObject>; namespaced: boolean }
    >();
    for (const [name, declaration] of Object.entries(operator.related ?? {})) {
      const namespaced = await this.#namespaced(declaration.type);
      const informer = informers.informer(declaration.type, {
        ...(declaration.namespace ? { namespace: declaration.namespace } : scope(namespaced)),
        ...(declaration.labelSelector ? { labelSelector: declaration.labelSelector } : {}),
      });
      relatedInformers.set(name, { declaration, informer, namespaced });
    }

    const { trace, planOnly } = this.#options;
    const reconciler = new ParentReconciler({
      operator,
      client,
      childTypes,
      parentNamespaced,
      memory: this.memory,
      ...(planOnly ? { planOnly } : { recorder: this.recorder }),
      ...(trace || planOnly ? { trace: true } : {}),
      logger,
      ...(this.#options.clock ? { clock: this.#options.clock } : {}),
      ...(this.#options.onOutcome ? { onOutcome: this.#options.onOutcome } : {}),
      ...(this.#options.partition ? { childLabels: this.#options.partition.labels } : {}),
      sources: {
        parents: parents.store,
        children: new Map([...childInformers].map(([group, informer]) => [group, informer.store])),
        related: (parent) => {
          const result: Record<string, KubeObject[]> = {};
          for (const [name, { declaration, informer, namespaced }] of relatedInformers) {
            let objects =
              namespaced &&
              parent.metadata.namespace &&
              !declaration.namespace &&
              !declaration.selectorFrom &&
              !declaration.select
                ? informer.store.byIndex("namespace", parent.metadata.namespace)
                : informer.store.list();
            if (declaration.selectorFrom) {
              const selector = declaration.selectorFrom(parent);
              objects = objects.filter((object) => labelsMatch(selector, object.metadata.labels));
            }
            if (declaration.select)
              objects = objects.filter((object) => declaration.select!(parent, object));
            result[name] = objects;
          }
          return result;
        },
      },
    });

    this.#reconciler = reconciler;
    const controller = new Controller({
      name: operator.name,
      ...(trace ? { recordTriggers: true } : {}),
      reconcile: this.#options.instrument?.(reconciler.reconcile) ?? reconciler.reconcile,
      concurrency: this.concurrency,
      debounceMs: operator.debounceMs ?? 0,
      resyncPeriodMs:
        operator.resyncPeriodMs === 0 ? undefined : (operator.resyncPeriodMs ?? defaultResyncMs),
      ...(this.#options.queueMetrics ? { metrics: this.#options.queueMetrics } : {}),
      onError: (key, error, retry) =>
        logger.debug(
          { parent: key, failures: retry.failures, retryInMs: retry.retryInMs, err: error },
          `will retry ${key}`,
        ),
    });
    controller.watchPrimary(parents, parentNeedsSync);
    // On a shard, a child or related object can name a parent of another shard (or one not
    // handed over yet): only parents in this replica's cache are queued by them; a parent that
    // arrives is queued by its own event.
    const ours = (key: string | undefined): string[] =>
      key && (!partition || parents.store.get(key)) ? [key] : [];
    for (const informer of childInformers.values()) {
      const ownReason = (object: KubeObject, deleted: boolean): TriggerReason =>
        this.memory.isOwnWrite(object.metadata.uid, object.metadata.resourceVersion, deleted)
          ? "own-write"
          : "owned-changed";
      controller.watchMapped(
        informer,
        (object) => ours(parentKeyOf(object, operator.parent, parentNamespaced)),
        ownReason,
      );
      // A child gone from the cache, whoever deleted it (Operon, a user, or the garbage collector
      // after its parent went), takes its applied memory with it: memory follows live children.
      this.#forgetters.push(
        informer.addHandler(
          { delete: (object) => this.memory.gone(object.metadata.uid) },
          { name: `${operator.name}/applied-memory` },
        ),
      );
    }
    for (const { declaration, informer } of relatedInformers.values()) {
      controller.watchMapped(
        informer,
        (object) => {
          const keys = this.#mapRelated(declaration, object, parents, parentNamespaced);
          return partition ? [...keys].filter((key) => parents.store.get(key)) : keys;
        },
        "related-changed",
      );
    }
    this.#controller = controller;
  }

  #mapRelated(
    declaration: RelatedDeclaration,
    object: KubeObject,
    parents: Informer<KubeObject>,
    parentNamespaced: boolean,
  ): Iterable<string> {
    if (declaration.mapToParents) return declaration.mapToParents(object);
    const candidates =
      parentNamespaced &&
      object.metadata.namespace &&
      !declaration.selectorFrom &&
      !declaration.select
        ? parents.store.byIndex("namespace", object.metadata.namespace)
        : parents.store.list();
    const keys: string[] = [];
    for (const parent of candidates) {
      if (
        declaration.selectorFrom &&
        !labelsMatch(declaration.selectorFrom(parent), object.metadata.labels)
      )
        continue;
      if (declaration.select && !declaration.select(parent, object)) continue;
      keys.push(objectKey(parent));
    }
    return keys;
  }

  /** Starts reconciling once the informers have synced. */
  async start(signal?: AbortSignal): Promise<void> {
    if (!this.#controller)
      throw new Error(`operator ${this.operator.name}: call setup() before start()`);
    await this.#controller.start(signal);
  }

  /**
   * Runs one attempt per parent now, outside the queue, and returns their records: what
   * `operon plan` shows (its client makes every write a dry run). `wanted`: only the parents
   * whose key it accepts. Call after the informers have synced.
   */
  async planAll(
    wanted?: (key: string) => boolean,
    signal?: AbortSignal,
  ): Promise<ReconcileAttempt[]> {
    const reconciler = this.#reconciler;
    const parents = this.#parents;
    if (!reconciler || !parents)
      throw new Error(`operator ${this.operator.name}: call setup() before planAll()`);
    const found = parents.store
      .list()
      .map((parent) => objectKey(parent))
      .filter((key) => !wanted || wanted(key))
      .sort();
    const attempts: ReconcileAttempt[] = [];
    for (const key of found) {
      attempts.push(
        await reconciler.attempt(key, {
          reasons: new Set(["manual"]),
          failures: 0,
          signal: signal ?? new AbortController().signal,
        }),
      );
    }
    return attempts;
  }

  /** Queues a parent key by hand. */
  enqueue(key: string): void {
    this.#controller?.enqueue(key, "manual");
  }

  /**
   * The informers of the parent and child types (after `setup`), shared with whoever else asks
   * the factory for the same selection.
   */
  informers(): { parents: Informer<KubeObject>; children: ReadonlyMap<string, ChildInformer> } {
    if (!this.#parents)
      throw new Error(`operator ${this.operator.name}: call setup() before informers()`);
    return { parents: this.#parents, children: this.#children };
  }

  /**
   * Lets go of a parent: no sync of it starts from now on, until {@link resume}. Resolves once
   * the sync in progress, if any, has finished.
   */
  drain(key: string): Promise<void> {
    return this.#controller?.drain(key) ?? Promise.resolve();
  }

  /** Drops what is kept of a parent that left this replica's shard (churn rounds, recent status). */
  forget(key: string): void {
    this.#reconciler?.forget(key);
  }

  /** Takes a parent back after {@link drain}. */
  resume(key: string): void {
    this.#controller?.resume(key);
  }

  /** Stops taking work and waits for running syncs; true when they all finished in time. */
  async shutdown(timeoutMs?: number): Promise<boolean> {
    const drained = (await this.#controller?.shutdown(timeoutMs)) ?? true;
    for (const registration of this.#forgetters.splice(0)) registration.remove();
    await this.recorder.flush();
    return drained;
  }

  stats(): { queued: number; delayed: number; running: number } {
    return this.#controller?.stats() ?? { queued: 0, delayed: 0, running: 0 };
  }
}
