/**
 * One parent's reconcile. The finalizer state machine picks the phase; the phase's pipeline
 * fills one {@link ReconcileAttempt} record (the call of `sync` or `finalize`, the child writes,
 * the Events, the churn check, the status write, the error); {@link decideNext} reads the record
 * and says what happens next. Errors end up on the parent's `Synced` condition and in an Event,
 * and the key is retried with backoff; other parents are unaffected.
 */
import { randomUUID } from "node:crypto";
import type { StoreReader } from "../cache/store.ts";
import type { KubeClient } from "../client/client.ts";
import { isConflict, isNotFound, KubeError } from "../client/errors.ts";
import {
  objectVersion,
  type ReconcileContext,
  type ReconcileResult,
  type TriggerEvent,
  type TriggerReason,
} from "../controller/controller.ts";
import type { Logger } from "../logger.ts";
import { formatTime } from "../resources/conditions.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import {
  type AttemptDetail,
  type AttemptTrigger,
  decideNext,
  type ReconcileAttempt,
  type RecordedParentEvent,
} from "./attempt.ts";
import {
  type ChildOutcome,
  emptyChildOutcome,
  type LiveChildren,
  reconcileChildren,
} from "./child-applier.ts";
import {
  ChurnDetector,
  fingerprintInputs,
  fingerprintOutput,
  type InputFingerprint,
} from "./churn.ts";
import type {
  DesiredChild,
  FinalizeResult,
  Operator,
  ParentEvent,
  SyncReason,
  SyncResult,
} from "./declaration.ts";
import {
  type ChildTypeInfo,
  MalformedChildError,
  type PreparedChild,
  prepareChildren,
} from "./desired.ts";
import type { AppliedMemory } from "./drift.ts";
import type { EventRecorder } from "./events.ts";
import { diffValues } from "./field-diff.ts";
import { CleanupProgress, finalizerStep, setFinalizer } from "./finalizer.ts";
import { isControlledBy, parentUidLabel } from "./ownership.ts";
import { buildFinalizeRequest, buildSyncRequest, type Snapshot } from "./request.ts";
import {
  desiredStatus,
  RecentStatusWrites,
  type SyncedState,
  statusDiffers,
  writeStatus,
} from "./status.ts";
import { tracedClient } from "./traced-client.ts";

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
  /** Declared child types by `apiVersion/kind`. */
  childTypes: ReadonlyMap<string, ChildTypeInfo>;
  parentNamespaced: boolean;
  memory: AppliedMemory;
  /** Where Events about parents go; none: no Events (`operon plan`). */
  recorder?: EventRecorder;
  logger: OperatorLogger;
  /**
   * Fill each attempt's `detail` (triggers, objects read, field diffs, API writes): for traces.
   * Off, attempts cost nothing more. Default false.
   */
  trace?: boolean;
  /**
   * Plan only (`operon plan`, with a dry-run client): parents being deleted are not cleaned up
   * (`finalize` is not called). Default false.
   */
  planOnly?: boolean;
  /** The time `sync` sees as `request.now` (and conditions' transition times). Default: the system clock. */
  clock?: () => Date;
  /** Called after every attempt with its record (tests, logs and metrics read it). */
  onOutcome?: (key: string, outcome: SyncOutcome) => void;
  /** Labels put on every child outside its desired-state hash (see `PrepareOptions.extraLabels`). */
  childLabels?: Readonly<Record<string, string>>;
}

/** What one reconcile of a parent did: its {@link ReconcileAttempt} record. */
export type SyncOutcome = ReconcileAttempt;

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

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** An attempt being filled in; `next` is decided once it is complete. */
type Draft = Omit<ReconcileAttempt, "next" | "durationMs"> & { durationMs?: number };

/** One attempt in progress: its record, the client its writes go through, and its context. */
interface Run {
  draft: Draft;
  /** The operator's client, or while tracing a view of it that notes each write. */
  client: KubeClient;
  context: ReconcileContext;
  logger: Logger;
}

const controllerEvents = new Set(["added", "modified", "deleted", "resync"]);

function attemptTrigger(trigger: TriggerEvent): AttemptTrigger {
  return {
    reason: reasonNames[trigger.reason],
    ...(trigger.event && controllerEvents.has(trigger.event) ? { event: trigger.event } : {}),
    ...(trigger.object ? { object: trigger.object } : {}),
    ...(trigger.reason === "own-write" ? { ownWrite: true } : {}),
    at: new Date(trigger.at).toISOString(),
  };
}

/** What the sync pipeline produced: the status and children `sync` returned and what was done, or why not. */
type Produced =
  | {
      ok: true;
      status: Record<string, unknown> | undefined;
      desired: PreparedChild[];
      outcome: ChildOutcome;
    }
  | { ok: false; error: unknown };

/** The `Synced` condition after a sync whose function returned and whose children were applied. */
function syncedAfterApply(outcome: ChildOutcome): { synced: SyncedState; failed: boolean } {
  if (outcome.failures.length > 0) {
    const details = outcome.failures.map((f) => `${f.child}: ${errorMessage(f.error)}`).join("; ");
    return { synced: { status: "False", reason: "ApplyFailed", message: details }, failed: true };
  }
  if (outcome.conflicts.length > 0) {
    const details = outcome.conflicts.join("; ");
    return {
      synced: {
        status: "False",
        reason: "ChildConflict",
        message: `${details}; Operon does not take over objects it does not control: rename the child or delete the other object`,
      },
      failed: false,
    };
  }
  return {
    synced: { status: "True", reason: "Synced", message: "children and status are up to date" },
    failed: false,
  };
}

/** The `Synced` condition after `sync` threw or returned children that could not be applied. */
function syncedAfterError(error: unknown): SyncedState {
  const message = errorMessage(error);
  const reason =
    error instanceof MalformedChildError
      ? "InvalidChildren"
      : error instanceof KubeError
        ? "ApplyFailed"
        : "SyncFailed";
  return {
    status: "False",
    reason,
    message: reason === "SyncFailed" ? `sync threw: ${message}` : message,
  };
}

export class ParentReconciler {
  readonly #options: ReconcilerOptions;
  readonly #churn = new ChurnDetector();
  /** Statuses written that the parent cache has not caught up with yet. */
  readonly #recentStatus = new RecentStatusWrites();
  readonly #cleanup = new CleanupProgress();
  readonly #parentType: ResourceType;
  /** Declared child types by their declared name. */
  readonly #groups: Map<string, ChildTypeInfo>;
  readonly #needsFinalizer: boolean;
  readonly #clock: () => Date;

  constructor(options: ReconcilerOptions) {
    this.#options = options;
    this.#parentType = options.operator.parent;
    this.#clock = options.clock ?? (() => new Date());
    this.#groups = new Map([...options.childTypes.values()].map((info) => [info.group, info]));
    // Operon needs its finalizer for the user's finalize, and to remove cluster-scoped children
    // of namespaced parents, which garbage collection cannot reach (unless they are kept).
    this.#needsFinalizer =
      options.operator.finalize !== undefined ||
      (options.parentNamespaced &&
        [...options.childTypes.values()].some((info) => !info.namespaced && !info.retained));
  }

  /** The controller's reconcile function. */
  readonly reconcile = async (
    key: string,
    context: ReconcileContext,
  ): Promise<ReconcileResult | undefined> => {
    const attempt = await this.attempt(key, context);
    switch (attempt.next.kind) {
      case "done":
        return undefined;
      case "requeue":
        return { requeueAfterMs: attempt.next.afterMs };
      case "retry":
        throw attempt.error ?? new SyncError(`${attempt.next.because} (${key})`);
    }
  };

  /**
   * Runs one attempt for `key` and returns its record (also given to `onOutcome`). The
   * controller's {@link reconcile} acts on its decision; `operon plan` reads it.
   */
  async attempt(key: string, context: ReconcileContext): Promise<ReconcileAttempt> {
    const started = performance.now();
    const draft: Draft = {
      reconcileId: randomUUID(),
      key,
      phase: "sync",
      reasons: [...new Set([...context.reasons].map((reason) => reasonNames[reason]))],
      attempt: context.failures,
      startedAt: formatTime(this.#clock()),
      statusWritten: false,
      events: [],
      writes: 0,
      writesMs: 0,
    };
    const base = this.#options.logger;
    const logger = base.child?.({ parent: key, reconcileId: draft.reconcileId }) ?? base;
    const parent = this.#options.sources.parents.get(key);
    let client = this.#options.client;
    if (this.#options.trace) {
      const detail: AttemptDetail = {
        startedAtMs: performance.timeOrigin + started,
        triggers: (context.triggers ?? []).map(attemptTrigger),
        read: [],
        apiWrites: [],
      };
      if (parent) detail.parent = objectVersion(parent);
      draft.detail = detail;
      client = tracedClient(client, detail.apiWrites, started);
    }
    try {
      await this.#run({ draft, client, context, logger }, parent);
    } catch (error) {
      draft.error = asError(error);
    }
    draft.writesMs = Math.round(draft.writesMs * 1000) / 1000;
    const attempt: ReconcileAttempt = {
      ...draft,
      durationMs: Math.round(performance.now() - started),
      next: decideNext({ ...draft, durationMs: 0 }),
    };
    if (attempt.phase === "sync") {
      logger.debug(
        { durationMs: attempt.durationMs, writes: attempt.writes, reasons: attempt.reasons },
        `synced ${key}`,
      );
    }
    this.#options.onOutcome?.(key, attempt);
    return attempt;
  }

  /** Drops the per-parent state kept between attempts, for a parent another process took over. */
  forget(key: string): void {
    this.#churn.forget(key);
    this.#recentStatus.forget(key);
  }

  /** Runs `write` and adds its time to the attempt's `writesMs`. */
  async #timed<T>(draft: Draft, write: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await write();
    } finally {
      draft.writesMs += performance.now() - started;
    }
  }

  /** Picks the phase from the parent and Operon's finalizer, and runs it. */
  async #run(run: Run, parent: KubeObject | undefined): Promise<void> {
    const { draft, context } = run;
    if (!parent) {
      draft.phase = "gone";
      this.#churn.forget(draft.key);
      this.#recentStatus.forget(draft.key);
      return;
    }
    const step = finalizerStep(parent, this.#options.operator.finalizer, this.#needsFinalizer);
    switch (step.kind) {
      case "released":
        draft.phase = "finalize";
        return;
      case "cleanup":
        draft.phase = "finalize";
        if (this.#options.planOnly) return;
        return this.#finalize(run, parent);
      case "sync": {
        const held = this.#churn.holdRemaining(draft.key, context.reasons);
        if (held > 0) {
          draft.phase = "held";
          draft.heldForMs = held;
          return;
        }
        if (step.addFinalizer) {
          try {
            await this.#timed(draft, () =>
              setFinalizer(
                run.client,
                this.#parentType,
                parent,
                this.#options.operator.finalizer,
                true,
                context.signal,
              ),
            );
            draft.finalizer = "added";
            draft.writes++;
          } catch (error) {
            // A newer parent (or none) is on its way; its event queues the next attempt.
            if (isConflict(error) || isNotFound(error)) {
              draft.finalizer = "conflict";
              return;
            }
            throw error;
          }
        }
        return this.#sync(run, parent);
      }
    }
  }

  /** The snapshot `sync` and `finalize` read: the parent, the children it controls, related objects. */
  #snapshot(parent: KubeObject, withRelated: boolean): Snapshot {
    const uid = parent.metadata.uid!;
    const children: Record<string, KubeObject[]> = {};
    for (const [group, store] of this.#options.sources.children) {
      const byOwner = store.byIndex("controller", uid);
      const byLabel = store.byIndex("label", `${parentUidLabel}=${uid}`);
      const all = byLabel.length === 0 ? byOwner : [...new Set([...byOwner, ...byLabel])];
      children[group] = all.filter((child) => isControlledBy(child, parent));
    }
    return {
      parent,
      children,
      related: withRelated ? this.#options.sources.related(parent) : {},
    };
  }

  #live(snapshot: Snapshot): LiveChildren {
    return {
      owned: (group) => [...(snapshot.children[group] ?? [])],
      cached: (group, namespace, name) =>
        this.#options.sources.children.get(group)?.get(namespace ? `${namespace}/${name}` : name),
    };
  }

  #record(draft: Draft, parent: KubeObject, event: ParentEvent): void {
    const recorded: RecordedParentEvent = {
      type: event.type ?? "Normal",
      reason: event.reason,
      message: event.message,
      ...(event.action ? { action: event.action } : {}),
    };
    draft.events.push(recorded);
    this.#options.recorder?.record(parent, recorded);
  }

  /** Notes, while tracing, the version of every object the user's function is given. */
  #noteRead(draft: Draft, snapshot: Snapshot): void {
    const read = draft.detail?.read;
    if (!read) return;
    read.push(objectVersion(snapshot.parent));
    for (const list of Object.values(snapshot.children)) {
      for (const object of list ?? []) read.push(objectVersion(object));
    }
    for (const list of Object.values(snapshot.related)) {
      for (const object of list ?? []) read.push(objectVersion(object));
    }
  }

  /**
   * One Event per sync for what it did to the children (not one per child): a parent with many
   * children must not double its API writes for Events.
   */
  #recordChildChanges(draft: Draft, parent: KubeObject, outcome: ChildOutcome): void {
    const parts: string[] = [];
    if (outcome.created.length > 0) parts.push(`created ${outcome.created.join(", ")}`);
    if (outcome.adopted.length > 0) {
      parts.push(
        `took over ${outcome.adopted.join(", ")} (kept from an earlier parent of this name)`,
      );
    }
    if (outcome.deleted.length > 0) parts.push(`deleted ${outcome.deleted.join(", ")}`);
    if (outcome.recreating.length > 0) {
      parts.push(`deleted ${outcome.recreating.join(", ")} to create again with the new spec`);
    }
    if (parts.length === 0) return;
    const kinds = [
      outcome.created.length > 0 ? "ChildCreated" : undefined,
      outcome.adopted.length > 0 ? "ChildAdopted" : undefined,
      outcome.deleted.length > 0 ? "ChildDeleted" : undefined,
      outcome.recreating.length > 0 ? "ChildRecreated" : undefined,
    ].filter((kind): kind is string => kind !== undefined);
    const reason = kinds.length === 1 ? kinds[0]! : "ChildrenChanged";
    const action =
      {
        ChildCreated: "Create",
        ChildAdopted: "Adopt",
        ChildDeleted: "Delete",
        ChildRecreated: "Recreate",
      }[reason] ?? "Apply";
    this.#record(draft, parent, { reason, message: parts.join("; "), action });
  }

  /**
   * The sync pipeline: fingerprint the snapshot, produce (call `sync`, apply the children), judge
   * (failures, conflicts, churn: Operon's `Synced` condition), write the status. Each step writes
   * what it did into the attempt record.
   */
  async #sync(run: Run, parent: KubeObject): Promise<void> {
    const { draft, logger } = run;
    const now = this.#clock();
    const snapshot = this.#snapshot(parent, true);
    this.#noteRead(draft, snapshot);
    // Fingerprinted before any write, with Operon's own earlier writes masked.
    const inputs = fingerprintInputs({
      parent,
      children: Object.values(snapshot.children).flatMap((list) => list ?? []),
      related: snapshot.related,
      isOwnState: (child) =>
        this.#options.memory.isOwnWrite(child.metadata.uid, child.metadata.resourceVersion) ||
        this.#options.memory.isOwnWrite(child.metadata.uid, undefined, true),
    });
    const produced = await this.#produce(run, snapshot, now).then(
      (result): Produced => result,
      (error: unknown): Produced => ({ ok: false, error }),
    );
    draft.synced = this.#judge(draft, parent, inputs, produced, logger);
    await this.#writeStatus(run, parent, produced.ok ? produced.status : undefined, now);
  }

  /** Calls `sync` and brings the children to what it returned. */
  async #produce(run: Run, snapshot: Snapshot, now: Date): Promise<Produced> {
    const { draft, context } = run;
    const { operator, childTypes, memory } = this.#options;
    // The user's function gets the operator's client: its own writes are not Operon's.
    const client = this.#options.client;
    const { parent } = snapshot;
    const called = performance.now();
    const call = (outcome: "returned" | "threw", requestedDelayMs?: number) => {
      draft.call = {
        function: "sync",
        outcome,
        durationMs: Math.round(performance.now() - called),
        ...(requestedDelayMs === undefined
          ? {}
          : { requestedDelayMs: Math.max(0, requestedDelayMs) }),
      };
    };
    let result: SyncResult<KubeObject>;
    try {
      result = await operator.sync(
        buildSyncRequest(operator, snapshot, {
          reasons: new Set(draft.reasons),
          attempt: context.failures,
          signal: context.signal,
          now,
          client,
        }),
      );
      if (!result || typeof result !== "object") {
        throw new TypeError(
          `sync returned ${result === null ? "null" : typeof result}; return an object such as { status, children }`,
        );
      }
    } catch (error) {
      call("threw");
      return { ok: false, error };
    }
    call("returned", result.requeueAfterMs);
    for (const event of result.events ?? []) this.#record(draft, parent, event);
    const status = result.status as Record<string, unknown> | undefined;
    const desired = prepareChildren((result.children ?? []) as DesiredChild[], {
      operatorName: operator.name,
      parent,
      parentNamespaced: this.#options.parentNamespaced,
      childTypes,
      ...(this.#options.childLabels ? { extraLabels: this.#options.childLabels } : {}),
    });
    const outcome = await this.#timed(draft, () =>
      reconcileChildren(parent, desired, this.#live(snapshot), this.#groups, {
        client: run.client,
        fieldManager: operator.name,
        memory,
        signal: context.signal,
        diff: draft.detail !== undefined,
      }),
    );
    draft.children = outcome;
    draft.writes += outcome.writes;
    this.#recordChildChanges(draft, parent, outcome);
    return { ok: true, status, desired, outcome };
  }

  /**
   * Operon's `Synced` condition for what the pipeline produced: a failure (reported, retried), a
   * conflict (reported), a result that does not converge (slowed down), or success.
   */
  #judge(
    draft: Draft,
    parent: KubeObject,
    inputs: InputFingerprint,
    produced: Produced,
    logger: Logger,
  ): SyncedState {
    const fail = (synced: SyncedState, error: Error): SyncedState => {
      draft.error = error;
      logger.warn(
        { err: error, reason: synced.reason },
        `sync of ${draft.key} failed: ${synced.message}`,
      );
      this.#record(draft, parent, {
        type: "Warning",
        reason: synced.reason,
        message: synced.message,
        action: "Sync",
      });
      return synced;
    };
    if (!produced.ok) return fail(syncedAfterError(produced.error), asError(produced.error));
    const { outcome } = produced;
    const applied = syncedAfterApply(outcome);
    if (applied.failed) return fail(applied.synced, new SyncError(applied.synced.message));
    if (applied.synced.reason === "ChildConflict") {
      this.#record(draft, parent, {
        type: "Warning",
        reason: "ChildConflict",
        message: outcome.conflicts.join("; "),
        action: "Apply",
      });
    }
    // A result that keeps changing while nothing it reads changes would loop: slow it down.
    const churn = this.#churn.observe(draft.key, {
      inputs,
      output: fingerprintOutput(
        produced.desired.map((child) => child.hash),
        produced.status,
      ),
      pruned: outcome.deleted,
      changed: [...outcome.created, ...outcome.updated, ...outcome.deleted],
    });
    if (!churn) return applied.synced;
    draft.churn = churn;
    this.#record(draft, parent, {
      type: "Warning",
      reason: "NotConverging",
      message: churn.message,
      action: "Sync",
    });
    return { status: "False", reason: "NotConverging", message: churn.message };
  }

  /**
   * Writes the status `sync` or `finalize` returned plus Operon's condition, when it differs from
   * the stored one. A failure is the attempt's error (retried with backoff) unless the parent is
   * gone.
   */
  async #writeStatus(
    run: Run,
    parent: KubeObject,
    user: Record<string, unknown> | undefined,
    now: Date,
  ): Promise<void> {
    const { draft, logger } = run;
    const signal = run.context.signal;
    // The status the parent has now: the cache's, or the one just written if the cache lags.
    const current = this.#recentStatus.current(draft.key, parent);
    const wanted = desiredStatus(current, user, draft.synced!, now);
    if (!statusDiffers(current, wanted)) return;
    if (draft.detail) {
      draft.detail.statusDiff = diffValues(current.status ?? {}, wanted, ["status"]);
    }
    try {
      const { operator } = this.#options;
      const written = await this.#timed(draft, () =>
        writeStatus(run.client, this.#parentType, parent, wanted, operator.name, signal),
      );
      this.#recentStatus.wrote(draft.key, parent, written?.status ?? wanted);
      draft.writes++;
      draft.statusWritten = true;
    } catch (error) {
      this.#recentStatus.forget(draft.key);
      if (isNotFound(error)) return; // the parent is gone: nothing to report on
      logger.warn({ err: error }, `status write of ${draft.key} failed: ${errorMessage(error)}`);
      draft.error ??= asError(error);
    }
  }

  /**
   * The cleanup of a parent being deleted: `finalize` until it reports finalized (not called
   * again after that), then the children garbage collection cannot reach, then the finalizer.
   */
  async #finalize(run: Run, parent: KubeObject): Promise<void> {
    const { draft, context, logger } = run;
    const { operator, client } = this.#options;
    const now = this.#clock();
    const snapshot = this.#snapshot(parent, false);
    this.#noteRead(draft, snapshot);
    const uid = parent.metadata.uid!;
    if (operator.finalize && !this.#cleanup.finalized(uid)) {
      const called = performance.now();
      let result: FinalizeResult<KubeObject>;
      try {
        result = await operator.finalize(
          buildFinalizeRequest(operator, snapshot, {
            attempt: context.failures,
            signal: context.signal,
            now,
            client,
          }),
        );
      } catch (error) {
        draft.call = {
          function: "finalize",
          outcome: "threw",
          durationMs: Math.round(performance.now() - called),
        };
        const message = `finalize threw: ${errorMessage(error)}`;
        logger.warn({ err: error }, `finalize of ${draft.key} failed: ${message}`);
        this.#record(draft, parent, {
          type: "Warning",
          reason: "FinalizeFailed",
          message,
          action: "Finalize",
        });
        draft.synced = { status: "False", reason: "FinalizeFailed", message };
        await this.#writeStatus(run, parent, undefined, now);
        throw error;
      }
      draft.call = {
        function: "finalize",
        outcome: "returned",
        durationMs: Math.round(performance.now() - called),
        finalized: result.finalized,
        ...(result.retryAfterMs !== undefined && !result.finalized
          ? { requestedDelayMs: Math.max(0, result.retryAfterMs) }
          : {}),
      };
      for (const event of result.events ?? []) this.#record(draft, parent, event);
      if (!result.finalized) {
        draft.synced = {
          status: "False",
          reason: "Finalizing",
          message: "waiting for finalize to report finalized",
        };
        await this.#writeStatus(
          run,
          parent,
          result.status as Record<string, unknown> | undefined,
          now,
        );
        return;
      }
      this.#cleanup.markFinalized(uid);
    }
    draft.children = await this.#timed(draft, () =>
      this.#deleteUnreachableChildren(run.client, snapshot, context.signal),
    );
    draft.writes += draft.children.writes;
    try {
      await this.#timed(draft, () =>
        setFinalizer(
          run.client,
          this.#parentType,
          parent,
          operator.finalizer,
          false,
          context.signal,
        ),
      );
      draft.writes++;
      draft.finalizer = "removed";
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.#cleanup.done(uid);
    if (draft.finalizer === "removed") {
      this.#record(draft, parent, {
        reason: "Finalized",
        message: "cleanup done; removed the finalizer",
        action: "Finalize",
      });
    }
    for (const list of Object.values(snapshot.children)) {
      for (const child of list ?? []) this.#options.memory.forget(child.metadata.uid);
    }
    this.#churn.forget(draft.key);
    this.#recentStatus.forget(draft.key);
  }

  /**
   * Deletes the children an ownerReference cannot reach (cluster-scoped children of namespaced
   * parents), with their type's propagation policy; children kept on purpose stay.
   */
  async #deleteUnreachableChildren(
    client: KubeClient,
    snapshot: Snapshot,
    signal: AbortSignal,
  ): Promise<ChildOutcome> {
    const outcome = emptyChildOutcome();
    for (const [group, info] of this.#groups) {
      if (info.namespaced || info.retained) continue;
      for (const child of snapshot.children[group] ?? []) {
        if (child.metadata.deletionTimestamp) continue;
        const label = `${child.kind} ${child.metadata.name}`;
        try {
          await client.delete(info.type, child.metadata.name!, {
            preconditions: { uid: child.metadata.uid! },
            propagationPolicy: info.propagationPolicy,
            signal,
          });
        } catch (error) {
          if (!isNotFound(error) && !isConflict(error)) throw error;
        }
        outcome.writes++;
        outcome.deleted.push(label);
        outcome.actions.push({ child: label, group, action: "deleted", writes: 1 });
      }
    }
    return outcome;
  }
}
