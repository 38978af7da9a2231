/**
 * One parent's reconcile: read the snapshot from the caches, run `sync` (or `finalize` while the
 * parent is being deleted), apply the children, write the status when it changed, record events,
 * and decide when to look again. Errors end up on the parent's `Synced` condition and in an Event,
 * and the key is retried with backoff; other parents are unaffected.
 */
import { randomUUID } from "node:crypto";
import type { StoreReader } from "../cache/store.ts";
import type { KubeClient } from "../client/client.ts";
import { isConflict, isNotFound, KubeError } from "../client/errors.ts";
import type { ReconcileContext, ReconcileResult, TriggerReason } from "../controller/controller.ts";
import type { Logger } from "../logger.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { type ChildOutcome, type LiveChildren, reconcileChildren } from "./child-applier.ts";
import { childGroup } from "./child-group.ts";
import { ChurnDetector } from "./churn.ts";
import type { DesiredChild, Operator, ParentEvent, SyncReason } from "./declaration.ts";
import { type ChildTypeInfo, MalformedChildError, prepareChildren } from "./desired.ts";
import type { AppliedMemory } from "./drift.ts";
import type { EventRecorder } from "./events.ts";
import { isControlledBy } from "./ownership.ts";
import { desiredStatus, type SyncedState, statusDiffers, writeStatus } from "./status.ts";

/** A logger that can carry fields into every line of one sync. */
export type OperatorLogger = Logger & { child?(bindings: Record<string, unknown>): Logger };

/** The caches and lookups a reconcile reads from. */
export interface ReconcileSources {
  parents: StoreReader<KubeObject>;
  /** Per declared child name: the type's store (children carrying Operon's label). */
  children: ReadonlyMap<string, StoreReader<KubeObject>>;
  /** Related objects that concern a parent, per declared related name. */
  related(parent: KubeObject): Record<string, KubeObject[]>;
}

export interface ReconcilerOptions {
  operator: Operator;
  client: KubeClient;
  sources: ReconcileSources;
  childTypes: ReadonlyMap<string, ChildTypeInfo>;
  parentNamespaced: boolean;
  memory: AppliedMemory;
  recorder: EventRecorder;
  logger: OperatorLogger;
  /** Called after every sync with what it did (tests and metrics read it). */
  onOutcome?: (key: string, outcome: SyncOutcome) => void;
}

/** What one reconcile of a parent did. */
export interface SyncOutcome {
  reconcileId: string;
  phase: "sync" | "finalize" | "gone";
  writes: number;
  error?: Error;
  children?: ChildOutcome;
  statusWritten: boolean;
}

/** Raised to make the controller retry a key with backoff after the error was reported. */
export class SyncError extends Error {
  override readonly name = "SyncError";
}

const reasonNames: Record<TriggerReason, SyncReason> = {
  "primary-changed": "parent-changed",
  "owned-changed": "child-changed",
  "own-write": "child-changed",
  "related-changed": "related-changed",
  resync: "resync",
  requeue: "requeue",
  retry: "retry",
  manual: "manual",
};

function errorMessage(error: unknown): string {
  if (error instanceof KubeError) return error.message;
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

export class ParentReconciler {
  readonly #options: ReconcilerOptions;
  readonly #churn = new ChurnDetector();
  readonly #parentType: ResourceType;
  readonly #groups: Map<string, ResourceType>;
  readonly #needsFinalizer: boolean;
  /** Parents (by UID) whose finalize reported finalized: not called again if removing the finalizer must be retried. */
  readonly #finalized = new Set<string>();

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#parentType = options.operator.parent;
    this.#groups = new Map([...options.childTypes.values()].map((info) => [info.group, info.type]));
    // Operon needs its finalizer for the user's finalize, and to remove cluster-scoped children
    // of namespaced parents, which garbage collection cannot reach.
    this.#needsFinalizer =
      options.operator.finalize !== undefined ||
      (options.parentNamespaced &&
        [...options.childTypes.values()].some((info) => !info.namespaced));
  }

  /** The children the parent controls, per declared child name. */
  #ownedChildren(parent: KubeObject): Map<string, KubeObject[]> {
    const owned = new Map<string, KubeObject[]>();
    for (const [group, store] of this.#options.sources.children) {
      const uid = parent.metadata.uid!;
      const byOwner = store.byIndex("controller", uid);
      const byLabel = store.byIndex("label", `operon.dev/parent-uid=${uid}`);
      const all = byLabel.length === 0 ? byOwner : [...new Set([...byOwner, ...byLabel])];
      owned.set(
        group,
        all.filter((child) => isControlledBy(child, parent)),
      );
    }
    return owned;
  }

  #live(owned: Map<string, KubeObject[]>): LiveChildren {
    return {
      owned: (group) => owned.get(group) ?? [],
      cached: (group, namespace, name) =>
        this.#options.sources.children.get(group)?.get(namespace ? `${namespace}/${name}` : name),
    };
  }

  #record(parent: KubeObject, event: ParentEvent): void {
    this.#options.recorder.record(parent, {
      type: event.type ?? "Normal",
      reason: event.reason,
      message: event.message,
      ...(event.action ? { action: event.action } : {}),
    });
  }

  /**
   * One Event per sync for what it did to the children (not one per child): a parent with many
   * children must not double its API writes for Events.
   */
  #recordChildChanges(parent: KubeObject, outcome: ChildOutcome): void {
    const parts: string[] = [];
    if (outcome.created.length > 0) parts.push(`created ${outcome.created.join(", ")}`);
    if (outcome.deleted.length > 0) parts.push(`deleted ${outcome.deleted.join(", ")}`);
    if (outcome.recreating.length > 0) {
      parts.push(`deleted ${outcome.recreating.join(", ")} to create again with the new spec`);
    }
    if (parts.length === 0) return;
    const kinds = [
      outcome.created.length > 0 ? "ChildCreated" : undefined,
      outcome.deleted.length > 0 ? "ChildDeleted" : undefined,
      outcome.recreating.length > 0 ? "ChildRecreated" : undefined,
    ].filter((kind): kind is string => kind !== undefined);
    const reason = kinds.length === 1 ? kinds[0]! : "ChildrenChanged";
    const action =
      { ChildCreated: "Create", ChildDeleted: "Delete", ChildRecreated: "Recreate" }[reason] ??
      "Apply";
    this.#record(parent, { reason, message: parts.join("; "), action });
  }

  /** The controller's reconcile function. */
  readonly reconcile = async (
    key: string,
    context: ReconcileContext,
  ): Promise<ReconcileResult | undefined> => {
    const reconcileId = randomUUID();
    const base = this.#options.logger;
    const logger = base.child?.({ parent: key, reconcileId }) ?? base;
    const parent = this.#options.sources.parents.get(key);
    if (!parent) {
      this.#churn.forget(key);
      this.#options.onOutcome?.(key, {
        reconcileId,
        phase: "gone",
        writes: 0,
        statusWritten: false,
      });
      return undefined;
    }
    if (parent.metadata.deletionTimestamp)
      return this.#finalize(key, parent, context, reconcileId, logger);
    const held = this.#churn.holdRemaining(key, context.reasons);
    if (held > 0) return { requeueAfterMs: held };
    return this.#sync(key, parent, context, reconcileId, logger);
  };

  async #ensureFinalizer(parent: KubeObject, present: boolean, signal: AbortSignal): Promise<void> {
    const { operator, client } = this.#options;
    const finalizers = parent.metadata.finalizers ?? [];
    if (finalizers.includes(operator.finalizer) === present) return;
    const next = present
      ? [...finalizers, operator.finalizer]
      : finalizers.filter((f) => f !== operator.finalizer);
    // A JSON patch that tests the resourceVersion: concurrent changes to the list fail with a
    // conflict and are retried, instead of one writer dropping the other's finalizer.
    await client.patch(
      this.#parentType,
      parent.metadata.name!,
      [
        { op: "test", path: "/metadata/resourceVersion", value: parent.metadata.resourceVersion },
        {
          op: parent.metadata.finalizers ? "replace" : "add",
          path: "/metadata/finalizers",
          value: next,
        },
      ],
      { ...(parent.metadata.namespace ? { namespace: parent.metadata.namespace } : {}), signal },
    );
  }

  async #sync(
    key: string,
    parent: KubeObject,
    context: ReconcileContext,
    reconcileId: string,
    logger: Logger,
  ): Promise<ReconcileResult | undefined> {
    const { operator, client, childTypes, memory } = this.#options;
    const reasons = new Set([...context.reasons].map((reason) => reasonNames[reason]));
    let writes = 0;
    if (this.#needsFinalizer && !(parent.metadata.finalizers ?? []).includes(operator.finalizer)) {
      try {
        await this.#ensureFinalizer(parent, true, context.signal);
        writes++;
      } catch (error) {
        if (isConflict(error) || isNotFound(error)) return undefined; // a newer parent is on its way
        throw error;
      }
    }
    const owned = this.#ownedChildren(parent);
    const children = Object.fromEntries(
      [...this.#groups.keys()].map((group) => [
        group,
        childGroup(owned.get(group) ?? [], parent.metadata.namespace),
      ]),
    );
    let synced: SyncedState = {
      status: "True",
      reason: "Synced",
      message: "children and status are up to date",
    };
    let userStatus: Record<string, unknown> | undefined;
    let outcome: ChildOutcome | undefined;
    let failure: Error | undefined;
    let requeueAfterMs: number | undefined;
    const started = performance.now();
    try {
      const result = await operator.sync({
        parent,
        children,
        related: this.#options.sources.related(parent),
        reasons,
        attempt: context.failures,
        signal: context.signal,
      } as never);
      if (!result || typeof result !== "object") {
        throw new TypeError(
          `sync returned ${result === null ? "null" : typeof result}; return an object such as { status, children }`,
        );
      }
      userStatus = result.status as Record<string, unknown> | undefined;
      requeueAfterMs = result.requeueAfterMs;
      for (const event of result.events ?? []) this.#record(parent, event);
      const desired = prepareChildren((result.children ?? []) as DesiredChild[], {
        operatorName: operator.name,
        parent,
        parentNamespaced: this.#options.parentNamespaced,
        childTypes,
      });
      outcome = await reconcileChildren(parent, desired, this.#live(owned), this.#groups, {
        client,
        fieldManager: operator.name,
        memory,
        signal: context.signal,
      });
      writes += outcome.writes;
      this.#recordChildChanges(parent, outcome);
      if (outcome.failures.length > 0) {
        const details = outcome.failures
          .map((f) => `${f.child}: ${errorMessage(f.error)}`)
          .join("; ");
        synced = { status: "False", reason: "ApplyFailed", message: details };
        failure = new SyncError(details);
      } else if (outcome.conflicts.length > 0) {
        const details = outcome.conflicts.join("; ");
        synced = {
          status: "False",
          reason: "ChildConflict",
          message: `${details}; Operon does not take over objects it does not control: rename the child or delete the other object`,
        };
        this.#record(parent, {
          type: "Warning",
          reason: "ChildConflict",
          message: details,
          action: "Apply",
        });
      }
    } catch (error) {
      const message = errorMessage(error);
      const reason =
        error instanceof MalformedChildError
          ? "InvalidChildren"
          : error instanceof KubeError
            ? "ApplyFailed"
            : "SyncFailed";
      synced = {
        status: "False",
        reason,
        message: reason === "SyncFailed" ? `sync threw: ${message}` : message,
      };
      failure = error instanceof Error ? error : new Error(message);
    }
    if (failure) {
      logger.warn(
        { err: failure, reason: synced.reason },
        `sync of ${key} failed: ${synced.message}`,
      );
      this.#record(parent, {
        type: "Warning",
        reason: synced.reason,
        message: synced.message,
        action: "Sync",
      });
    }

    // Sync results that keep changing while nothing else changes would loop: slow them down.
    const churn = this.#churn.observe(key, {
      reasons: context.reasons,
      childWrites: outcome?.writes ?? 0,
      changed: [
        ...(outcome?.created ?? []),
        ...(outcome?.deleted ?? []),
        ...(outcome?.updated ?? []),
      ],
    });
    if (churn && !failure) {
      synced = { status: "False", reason: "NotConverging", message: churn.message };
      this.#record(parent, {
        type: "Warning",
        reason: "NotConverging",
        message: churn.message,
        action: "Sync",
      });
    }

    let statusWritten = false;
    const wanted = desiredStatus(parent, userStatus, synced);
    if (statusDiffers(parent, wanted)) {
      try {
        await writeStatus(client, this.#parentType, parent, wanted, operator.name, context.signal);
        writes++;
        statusWritten = true;
      } catch (error) {
        if (!isNotFound(error)) {
          logger.warn({ err: error }, `status write of ${key} failed: ${errorMessage(error)}`);
          failure ??= error instanceof Error ? error : new Error(String(error));
        }
      }
    }
    logger.debug(
      { durationMs: Math.round(performance.now() - started), writes, reasons: [...reasons] },
      `synced ${key}`,
    );
    this.#options.onOutcome?.(key, {
      reconcileId,
      phase: "sync",
      writes,
      ...(failure ? { error: failure } : {}),
      ...(outcome ? { children: outcome } : {}),
      statusWritten,
    });
    if (failure) throw failure;
    if (churn) return { requeueAfterMs: churn.delayMs };
    if (outcome && (outcome.waiting.length > 0 || outcome.recreating.length > 0)) {
      return { requeueAfterMs: Math.min(requeueAfterMs ?? 2_000, 2_000) };
    }
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  }

  async #finalize(
    key: string,
    parent: KubeObject,
    context: ReconcileContext,
    reconcileId: string,
    logger: Logger,
  ): Promise<ReconcileResult | undefined> {
    const { operator, client } = this.#options;
    if (!(parent.metadata.finalizers ?? []).includes(operator.finalizer)) return undefined;
    const owned = this.#ownedChildren(parent);
    let writes = 0;
    const uid = parent.metadata.uid!;
    if (operator.finalize && !this.#finalized.has(uid)) {
      const children = Object.fromEntries(
        [...this.#groups.keys()].map((group) => [
          group,
          childGroup(owned.get(group) ?? [], parent.metadata.namespace),
        ]),
      );
      let result: Awaited<ReturnType<NonNullable<Operator["finalize"]>>>;
      try {
        result = await operator.finalize({
          parent,
          children,
          attempt: context.failures,
          signal: context.signal,
        } as never);
      } catch (error) {
        const message = `finalize threw: ${errorMessage(error)}`;
        logger.warn({ err: error }, `finalize of ${key} failed: ${message}`);
        this.#record(parent, {
          type: "Warning",
          reason: "FinalizeFailed",
          message,
          action: "Finalize",
        });
        await this.#writeFinalizingStatus(
          parent,
          undefined,
          { status: "False", reason: "FinalizeFailed", message },
          context.signal,
        );
        throw error;
      }
      for (const event of result.events ?? []) this.#record(parent, event);
      if (!result.finalized) {
        const message = "waiting for finalize to report finalized";
        writes += await this.#writeFinalizingStatus(
          parent,
          result.status as Record<string, unknown> | undefined,
          { status: "False", reason: "Finalizing", message },
          context.signal,
        );
        this.#options.onOutcome?.(key, {
          reconcileId,
          phase: "finalize",
          writes,
          statusWritten: writes > 0,
        });
        if (result.retryAfterMs !== undefined) return { requeueAfterMs: result.retryAfterMs };
        throw new SyncError(`finalize of ${key} is not done yet`);
      }
      this.#finalized.add(uid);
    }
    // Cluster-scoped children are out of garbage collection's reach: delete them here.
    for (const [group, type] of this.#groups) {
      const info = this.#options.childTypes.get(`${type.apiVersion}/${type.kind}`);
      if (!info || info.namespaced) continue;
      for (const child of owned.get(group) ?? []) {
        if (child.metadata.deletionTimestamp) continue;
        await client
          .delete(type, child.metadata.name!, {
            preconditions: { uid: child.metadata.uid! },
            signal: context.signal,
          })
          .catch((error: unknown) => {
            if (!isNotFound(error) && !isConflict(error)) throw error;
          });
        writes++;
      }
    }
    try {
      await this.#ensureFinalizer(parent, false, context.signal);
      writes++;
    } catch (error) {
      if (isNotFound(error)) {
        this.#finalized.delete(uid);
        return undefined;
      }
      throw error;
    }
    this.#finalized.delete(uid);
    this.#record(parent, {
      reason: "Finalized",
      message: "cleanup done; removed the finalizer",
      action: "Finalize",
    });
    for (const list of owned.values())
      for (const child of list) this.#options.memory.forget(child.metadata.uid);
    this.#churn.forget(key);
    this.#options.onOutcome?.(key, {
      reconcileId,
      phase: "finalize",
      writes,
      statusWritten: false,
    });
    return undefined;
  }

  async #writeFinalizingStatus(
    parent: KubeObject,
    user: Record<string, unknown> | undefined,
    synced: SyncedState,
    signal: AbortSignal,
  ): Promise<number> {
    const wanted = desiredStatus(parent, user, synced);
    if (!statusDiffers(parent, wanted)) return 0;
    await writeStatus(
      this.#options.client,
      this.#parentType,
      parent,
      wanted,
      this.#options.operator.name,
      signal,
    ).catch(() => undefined);
    return 1;
  }
}
