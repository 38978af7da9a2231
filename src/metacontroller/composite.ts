/**
 * One CompositeController at run time: informers for the parent and child resources (shared with
 * every other controller in the process), a work queue of parents, and the sync of each parent:
 * claim children by the parent's selector, ask the customize hook for related objects, call the
 * sync (or finalize) hook, and bring children and status to what it returned.
 */
import type { HandlerRegistration, Informer } from "../cache/index.ts";
import { isConflict, isNotFound } from "../client/errors.ts";
import {
  Controller,
  type ReconcileContext,
  type ReconcileResult,
} from "../controller/controller.ts";
import type { LabelSelector } from "../resources/meta.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import {
  AppliedState,
  type ChildKind,
  claimChildren,
  controllerOf,
  describeObject,
  groupKind,
  type ManageOutcome,
  manageChildren,
} from "./children.ts";
import type { Instrumentation, MetacontrollerContext, ResolvedResource } from "./context.ts";
import { resolveResource } from "./context.ts";
import { CustomizeManager, RelatedNotSyncedError } from "./customize.ts";
import { goController, goJson, Ordered } from "./go-json.ts";
import { createHookClients, type HookClient, HookError, HookRetryLaterError } from "./hook.ts";
import type { FieldType } from "./json-check.ts";
import { buildObjectMap, groupKey } from "./object-map.ts";
import {
  compositeFinalizer,
  replaceStatus,
  setFinalizer,
  shouldFinalize,
  syncedConditionType,
  withCondition,
} from "./parent.ts";
import { isRolling, type RevisionSync, syncRevisions } from "./revisions.ts";
import { isEmptySelector, type Matcher, matchEverything, selectorMatcher } from "./selector.ts";
import type { CompositeController, HookVersion } from "./types.ts";
import { ControllerRevisionType } from "./types.ts";

/** The controller could not start; the message says why (shown in an Event on the controller). */
export class ControllerStartError extends Error {
  override readonly name = "ControllerStartError";
  /** The Event reason: `CreateError`, or `SyncError` for a parent without a status subresource. */
  readonly reason: string;
  constructor(message: string, reason = "CreateError") {
    super(message);
    this.reason = reason;
  }
}

/** Index of objects without a controller, by namespace (`ns:` for cluster-scoped ones). */
export const orphanIndex = "metacontroller.orphan";
export function orphanIndexFunc(object: KubeObject): string[] {
  return object.metadata.ownerReferences?.some((ref) => ref.controller === true)
    ? []
    : [`ns:${object.metadata.namespace ?? ""}`, "all"];
}

/** The label Metacontroller puts on children when it generates selectors. */
export const controllerUidLabel = "controller-uid";

export const compositeResponseFields: Readonly<Record<string, FieldType>> = {
  status: "object",
  children: "objects",
  resyncAfterSeconds: "number",
  finalized: "boolean",
};

/** What a sync (or finalize) hook answered, decoded. */
export interface CompositeResponse {
  status: Record<string, unknown> | null;
  children: KubeObject[];
  resyncAfterSeconds: number;
  finalized: boolean;
}

/** A failed sync, reported in an Event and a condition; `reason` names the kind of failure. */
export class SyncFailure extends Error {
  override readonly name = "SyncFailure";
  readonly reason: string;
  /** Already reported on the parent (Event and condition): the queue only retries. */
  reported = false;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function labelsEqual(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const ak = Object.keys(a ?? {});
  if (ak.length !== Object.keys(b ?? {}).length) return false;
  return ak.every((key) => a![key] === b?.[key]);
}

export class CompositeRuntime {
  readonly controller: CompositeController;
  readonly name: string;
  readonly #context: MetacontrollerContext;
  readonly #instrumentation: Instrumentation;
  readonly #memory = new AppliedState();
  readonly #selectors = new Map<
    string,
    { resourceVersion: string | undefined; matcher: Matcher }
  >();
  #parent!: ResolvedResource;
  #parentSelector: Matcher = matchEverything;
  #children: ChildKind[] = [];
  #childInformers = new Map<string, Informer<KubeObject>>();
  readonly #registrations: HandlerRegistration[] = [];
  #parents!: Informer<KubeObject>;
  #revisions: Informer<KubeObject> | undefined;
  #sync: HookClient | undefined;
  #finalize: HookClient | undefined;
  #customize!: CustomizeManager;
  #queue: Controller | undefined;
  #finalizer: string;
  #stopped = false;

  constructor(controller: CompositeController, context: MetacontrollerContext) {
    this.controller = controller;
    this.name = controller.metadata.name!;
    this.#context = context;
    this.#instrumentation = context.instrumentation(`compositecontroller-${this.name}`);
    this.#finalizer = compositeFinalizer(this.name);
  }

  get #generateSelector(): boolean {
    return this.controller.spec.generateSelector === true;
  }

  /** Resolves the resources and hooks, sets up informers and starts the workers once synced. */
  async start(signal?: AbortSignal): Promise<void> {
    const { client, informers } = this.#context;
    const spec = this.controller.spec;
    if (!spec.hooks) throw new ControllerStartError("no hooks defined");
    try {
      // Discovery of a CRD changed since it was last read (a status subresource added) is stale.
      client.discovery.invalidate(spec.parentResource.apiVersion);
      this.#parent = await resolveResource(client, spec.parentResource, signal);
    } catch (error) {
      throw new ControllerStartError(`can't find parent resource: ${errorText(error)}`);
    }
    if (!this.#parent.subresources.includes("status")) {
      throw new ControllerStartError(
        `[${this.name}] Sync error - ignoring, CRD [${this.#parent.plural}.${this.#parent.group}/${this.#parent.apiVersion}, Kind=${this.#parent.kind}] does not have subresource 'Status' enabled`,
        "SyncError",
      );
    }
    try {
      this.#parentSelector = selectorMatcher(spec.parentResource.labelSelector, matchEverything);
    } catch (error) {
      throw new ControllerStartError(`invalid parentResource.labelSelector: ${errorText(error)}`);
    }
    for (const rule of spec.childResources ?? []) {
      let resolved: ResolvedResource;
      try {
        resolved = await resolveResource(client, rule, signal);
      } catch (error) {
        throw new ControllerStartError(`can't find child resource: ${errorText(error)}`);
      }
      const method = rule.updateStrategy?.method || "OnDelete";
      this.#children.push({
        apiVersion: resolved.apiVersion,
        kind: resolved.kind,
        group: resolved.group,
        plural: resolved.plural,
        namespaced: resolved.namespaced,
        type: resolved.type,
        method,
        statusChecks: rule.updateStrategy?.statusChecks?.conditions ?? [],
      });
    }
    try {
      const { sync, finalize, customize } = await createHookClients(spec.hooks, {
        client,
        serviceAccess: this.#context.serviceAccess,
        endpointConfigs: spec.endpointConfigs,
      });
      this.#sync = sync;
      this.#finalize = finalize;
      this.#customize = new CustomizeManager({
        context: this.#context,
        controller: this.controller,
        hook: customize,
        parentNamespaced: () => this.#parent.namespaced,
        enqueue: (key) => this.#queue?.enqueue(key, "related-changed"),
        parents: () => this.#parents.store.list(),
      });
    } catch (error) {
      await this.#closeHooks();
      throw new ControllerStartError(errorText(error));
    }

    this.#parents = informers.informer(this.#parent.type);
    for (const kind of this.#children) {
      // With generated selectors every child carries `controller-uid`: cache only those.
      const informer = informers.informer(kind.type, {
        ...(this.#generateSelector ? { labelSelector: controllerUidLabel } : {}),
        indexers: { [orphanIndex]: orphanIndexFunc },
      });
      this.#childInformers.set(groupKind(kind.apiVersion, kind.kind), informer);
    }
    if (this.#children.some(isRolling)) {
      this.#revisions = informers.informer(ControllerRevisionType as ResourceType);
    }

    const { instrument, queueMetrics } = this.#instrumentation;
    const reconcile = (key: string, context: ReconcileContext) => this.#reconcile(key, context);
    const resyncSeconds = spec.resyncPeriodSeconds;
    const resyncPeriodMs =
      resyncSeconds !== undefined && resyncSeconds !== null
        ? Math.max(1, resyncSeconds) * 1_000
        : this.#context.resyncPeriodMs;
    const queue = new Controller({
      name: `compositecontroller-${this.name}`,
      reconcile: instrument?.(reconcile) ?? reconcile,
      concurrency: this.#context.workers,
      ...(resyncPeriodMs > 0 ? { resyncPeriodMs } : {}),
      ...(queueMetrics ? { metrics: queueMetrics } : {}),
      onError: (key, error, retry) =>
        this.#context.logger.debug(
          {
            controller: this.name,
            parent: key,
            failures: retry.failures,
            retryInMs: retry.retryInMs,
            err: error,
          },
          `will retry ${key}`,
        ),
    });
    const ignoreStatus = spec.parentResource.ignoreStatusChanges === true;
    queue.watchPrimary(this.#parents, (old, object) => {
      if (old.metadata.resourceVersion === object.metadata.resourceVersion) return false;
      if (!ignoreStatus) return true;
      return (
        old.metadata.generation !== object.metadata.generation ||
        !labelsEqual(old.metadata.labels, object.metadata.labels) ||
        !labelsEqual(old.metadata.annotations, object.metadata.annotations) ||
        object.metadata.deletionTimestamp !== undefined
      );
    });
    for (const informer of this.#childInformers.values()) {
      // What was applied to a child is forgotten with the child (a cascade, a user's delete).
      this.#registrations.push(
        informer.addHandler(
          { delete: (child) => this.#memory.forget(child.metadata.uid) },
          { name: `compositecontroller-${this.name}/applied` },
        ),
      );
      queue.watchMapped(
        informer,
        (child) => this.#parentsOfChild(child),
        "owned-changed",
        (old, object) => old.metadata.resourceVersion !== object.metadata.resourceVersion,
      );
    }
    this.#queue = queue;
    if (this.#stopped) return;
    this.#context.logger.info(
      { controller: this.name, parent: `${this.#parent.plural}.${this.#parent.group}` },
      `starting CompositeController ${this.name}`,
    );
    await queue.start(signal);
  }

  async #closeHooks(): Promise<void> {
    await Promise.all([this.#sync?.close(), this.#finalize?.close()]);
  }

  /** Stops taking work, waits for running syncs, and lets go of informer handlers. */
  async stop(timeoutMs?: number): Promise<boolean> {
    this.#stopped = true;
    for (const registration of this.#registrations) registration.remove();
    const drained = (await this.#queue?.shutdown(timeoutMs)) ?? true;
    this.#customize?.stop();
    await this.#closeHooks();
    this.#instrumentation.release?.();
    return drained;
  }

  stats(): { queued: number; delayed: number; running: number } {
    return this.#queue?.stats() ?? { queued: 0, delayed: 0, running: 0 };
  }

  /** Queues a parent by hand. */
  enqueue(key: string): void {
    this.#queue?.enqueue(key, "manual");
  }

  // -------------------------------------------------------------------------------------------
  // Mapping child events to parents

  #parentKey(namespace: string | undefined, name: string): string {
    return this.#parent.namespaced ? `${namespace}/${name}` : name;
  }

  #tracked(parent: KubeObject): boolean {
    return (
      (parent.metadata.finalizers ?? []).includes(this.#finalizer) ||
      this.#parentSelector(parent.metadata.labels)
    );
  }

  #parentsOfChild(child: KubeObject): string[] {
    const ref = controllerOf(child);
    if (ref) {
      if (
        ref.kind !== this.#parent.kind ||
        groupKind(ref.apiVersion, "") !== `${this.#parent.group}/`
      )
        return [];
      const key = this.#parentKey(child.metadata.namespace, ref.name);
      const parent = this.#parents.store.get(key);
      if (!parent || parent.metadata.uid !== ref.uid || !this.#tracked(parent)) return [];
      return [key];
    }
    if (child.metadata.deletionTimestamp) return []; // orphans being deleted are never adopted
    // An orphan: the parents that might adopt it.
    const candidates =
      this.#parent.namespaced && child.metadata.namespace
        ? this.#parents.store.byIndex("namespace", child.metadata.namespace)
        : this.#parents.store.list();
    const keys: string[] = [];
    for (const parent of candidates) {
      if (!this.#tracked(parent)) continue;
      let matches: Matcher;
      try {
        matches = this.#selectorOf(parent);
      } catch {
        continue;
      }
      if (matches(child.metadata.labels)) keys.push(objectKey(parent));
    }
    return keys;
  }

  /** The parent's child selector: `spec.selector`, or the generated `controller-uid` one. */
  #selectorOf(parent: KubeObject): Matcher {
    const key = objectKey(parent);
    const cached = this.#selectors.get(key);
    if (cached && cached.resourceVersion === parent.metadata.resourceVersion) return cached.matcher;
    let matcher: Matcher;
    if (this.#generateSelector) {
      matcher = selectorMatcher({ matchLabels: { [controllerUidLabel]: parent.metadata.uid! } });
    } else {
      const selector = (parent.spec as { selector?: unknown } | undefined)?.selector;
      if (
        selector !== undefined &&
        (typeof selector !== "object" || selector === null || Array.isArray(selector))
      ) {
        throw new SyncFailure(
          "InvalidSelector",
          `can't get label selector from ${this.#parent.kind} ${key}`,
        );
      }
      if (isEmptySelector(selector as LabelSelector | undefined)) {
        throw new SyncFailure(
          "InvalidSelector",
          ".spec.selector must have either matchLabels, matchExpressions, or both",
        );
      }
      try {
        matcher = selectorMatcher(selector as LabelSelector);
      } catch (error) {
        throw new SyncFailure(
          "InvalidSelector",
          `can't convert label selector: ${errorText(error)}`,
        );
      }
    }
    this.#selectors.set(key, { resourceVersion: parent.metadata.resourceVersion, matcher });
    return matcher;
  }

  // -------------------------------------------------------------------------------------------
  // The sync of one parent

  async #reconcile(key: string, context: ReconcileContext): Promise<ReconcileResult | undefined> {
    const parent = this.#parents.store.get(key);
    if (!parent) {
      this.#selectors.delete(key);
      this.#customize.forget(key);
      return undefined;
    }
    if (!this.#tracked(parent)) return undefined;
    try {
      return await this.#syncParent(parent, context);
    } catch (error) {
      if (error instanceof HookRetryLaterError) return { requeueAfterMs: error.retryAfterMs };
      if (error instanceof RelatedNotSyncedError || context.signal.aborted) throw error;
      if (error instanceof SyncFailure && error.reported) throw error;
      await this.#reportFailure(parent, error, context.signal);
      throw error;
    }
  }

  async #reportFailure(parent: KubeObject, error: unknown, signal: AbortSignal): Promise<void> {
    const message = errorText(error);
    const reason =
      error instanceof HookError || error instanceof SyncFailure ? error.reason : "SyncFailed";
    this.#context.logger.warn(
      { controller: this.name, parent: objectKey(parent), reason, err: error },
      `sync of ${this.#parent.kind} ${objectKey(parent)} failed: ${message}`,
    );
    this.#context.recorder.record(parent, {
      type: "Warning",
      reason: "SyncError",
      message: `Sync error: ${message}`,
      action: "Sync",
    });
    const status = withCondition(parent.status as Record<string, unknown> | undefined, {
      type: syncedConditionType,
      status: "False",
      reason,
      message,
    });
    await replaceStatus(this.#context.client, this.#parent.type, parent, status, {
      subresource: true,
      signal,
    }).catch(() => {});
  }

  #canAdopt(parent: KubeObject, signal: AbortSignal): () => Promise<void> {
    let checked: Promise<void> | undefined;
    return () => {
      checked ??= (async () => {
        // An uncached read: a parent being deleted must not adopt anything.
        const fresh = await this.#context.client.get(this.#parent.type, parent.metadata.name!, {
          ...(parent.metadata.namespace ? { namespace: parent.metadata.namespace } : {}),
          signal,
        });
        if (fresh.metadata.uid !== parent.metadata.uid) {
          throw new Error(
            `original ${this.#parent.kind} ${objectKey(parent)} is gone: got uid ${fresh.metadata.uid}, wanted ${parent.metadata.uid}`,
          );
        }
        if (fresh.metadata.deletionTimestamp) {
          throw new Error(
            `${objectKey(parent)} has just been deleted at ${fresh.metadata.deletionTimestamp}`,
          );
        }
      })();
      return checked;
    };
  }

  /** The children the parent owns after claims (adoptions and releases). */
  async #claim(parent: KubeObject, matches: Matcher, signal: AbortSignal): Promise<KubeObject[]> {
    const uid = parent.metadata.uid!;
    const namespace = this.#parent.namespaced ? parent.metadata.namespace : undefined;
    const canAdopt = this.#canAdopt(parent, signal);
    const claimed: KubeObject[] = [];
    const errors: Error[] = [];
    for (const kind of this.#children) {
      const informer = this.#childInformers.get(groupKind(kind.apiVersion, kind.kind))!;
      const owned = informer.store
        .byIndex("controller", uid)
        .filter((child) => namespace === undefined || child.metadata.namespace === namespace);
      const orphans = informer.store.byIndex(
        orphanIndex,
        namespace !== undefined && kind.namespaced
          ? `ns:${namespace}`
          : kind.namespaced
            ? "all"
            : "ns:",
      );
      const result = await claimChildren(parent, kind, [...owned, ...orphans], matches, {
        client: this.#context.client,
        canAdopt,
        signal,
        onWrite: (what, child) =>
          this.#context.logger.info(
            { controller: this.name, parent: objectKey(parent), child: describeObject(child) },
            `${what} ${describeObject(child)}`,
          ),
      });
      claimed.push(...result.claimed);
      errors.push(...result.errors);
    }
    if (errors.length > 0) {
      throw new SyncFailure("ClaimFailed", errors.map((error) => error.message).join("; "));
    }
    return claimed;
  }

  #hookRequest(
    version: HookVersion,
    parent: KubeObject,
    observed: readonly KubeObject[],
    related: { groups: string[]; objects: KubeObject[] },
    finalizing: boolean,
  ): string {
    const parentNamespace = parent.metadata.namespace;
    return goJson(
      new Ordered([
        ["controller", goController(this.controller)],
        ["parent", parent],
        [
          "children",
          buildObjectMap(
            version,
            parentNamespace,
            this.#children.map((kind) => groupKey(kind.apiVersion, kind.kind)),
            observed,
          ),
        ],
        ["related", buildObjectMap(version, parentNamespace, related.groups, related.objects)],
        ["finalizing", finalizing],
      ]),
    );
  }

  /** Calls the sync hook, or the finalize hook while the parent is going away. */
  async #callHook(
    parent: KubeObject,
    observed: readonly KubeObject[],
    related: { groups: string[]; objects: KubeObject[] },
    signal: AbortSignal,
  ): Promise<CompositeResponse | undefined> {
    const finalizing =
      this.#finalize !== undefined &&
      (parent.metadata.deletionTimestamp !== undefined ||
        !this.#parentSelector(parent.metadata.labels));
    const hook = finalizing ? this.#finalize : this.#sync;
    if (!hook) return undefined;
    const body = this.#hookRequest(hook.version, parent, observed, related, finalizing);
    const response = await hook.call(body, parent, compositeResponseFields, signal);
    const children = ((response.children as KubeObject[] | null) ?? []).map((child) =>
      this.#completeChild(parent, child),
    );
    return {
      status: (response.status as Record<string, unknown> | null) ?? null,
      children,
      resyncAfterSeconds: (response.resyncAfterSeconds as number | null) ?? 0,
      finalized: (response.finalized as boolean | null) ?? false,
    };
  }

  /** Fills in what Metacontroller fills in: the parent's namespace, and generated labels. */
  #completeChild(parent: KubeObject, child: KubeObject): KubeObject {
    const metadata = { ...(child.metadata ?? {}) } as KubeObject["metadata"];
    const kind = this.#kindOf(child.apiVersion, child.kind);
    if (!metadata.namespace && parent.metadata.namespace && (kind?.namespaced ?? true)) {
      metadata.namespace = parent.metadata.namespace;
    }
    if (this.#generateSelector && metadata.labels?.[controllerUidLabel] === undefined) {
      metadata.labels = { ...(metadata.labels ?? {}), [controllerUidLabel]: parent.metadata.uid! };
    }
    return { ...child, metadata };
  }

  #kindOf(apiVersion: string | undefined, kind: string): ChildKind | undefined {
    const wanted = groupKind(apiVersion ?? "", kind);
    return this.#children.find((child) => groupKind(child.apiVersion, child.kind) === wanted);
  }

  async #syncParent(
    initial: KubeObject,
    context: ReconcileContext,
  ): Promise<ReconcileResult | undefined> {
    const { client } = this.#context;
    const { signal } = context;
    let parent = initial;
    // Our finalizer first (if there is a finalize hook), so that we get a chance to clean up
    // after anything we do next; removed if the hook went away.
    const wantFinalizer = this.#finalize !== undefined;
    const hasFinalizer = (parent.metadata.finalizers ?? []).includes(this.#finalizer);
    if (wantFinalizer !== hasFinalizer && !(wantFinalizer && parent.metadata.deletionTimestamp)) {
      try {
        parent = await setFinalizer(
          client,
          this.#parent.type,
          parent,
          this.#finalizer,
          wantFinalizer,
          signal,
        );
      } catch (error) {
        if (isConflict(error) || isNotFound(error)) return undefined; // a newer parent is coming
        throw new SyncFailure(
          "FinalizerFailed",
          `can't sync finalizer for ${this.#parent.kind} ${objectKey(parent)}: ${errorText(error)}`,
        );
      }
      if (!this.#tracked(parent)) return undefined;
    }

    const matches = this.#selectorOf(parent);
    const observed = await this.#claim(parent, matches, signal);
    const related = await this.#customize.related(parent, signal);

    const deleting = parent.metadata.deletionTimestamp !== undefined;
    const finalizing = shouldFinalize(parent, this.#finalizer, wantFinalizer);
    let result: CompositeResponse | undefined;
    let revisions: RevisionSync | undefined;
    try {
      if (this.#children.some(isRolling) && (!deleting || finalizing)) {
        revisions = await syncRevisions({
          controller: this.controller,
          parentResource: this.#parent,
          children: this.#children,
          parent,
          observed,
          client,
          revisions: this.#revisions!,
          fieldPaths: this.controller.spec.parentResource.revisionHistory?.fieldPaths,
          generateSelector: this.#generateSelector,
          matches,
          canAdopt: this.#canAdopt(parent, signal),
          callHook: async (revisionParent) =>
            this.#callHook(
              revisionParent,
              observed,
              revisionParent === parent
                ? related
                : await this.#customize.related(revisionParent, signal),
              signal,
            ),
          signal,
        });
        result = revisions.result;
      } else {
        result = await this.#callHook(parent, observed, related, signal);
      }
    } catch (error) {
      if (error instanceof HookError) {
        throw new HookError(
          error.reason,
          `sync hook failed for ${this.#parent.kind} ${objectKey(parent)}: ${error.message}`,
          { cause: error },
        );
      }
      throw error;
    }
    if (!result) {
      throw new SyncFailure(
        "NoHook",
        `sync hook nil//not defined for ${this.#parent.kind} ${objectKey(parent)}`,
      );
    }

    let requeueAfterMs: number | undefined;
    if (result.resyncAfterSeconds > 0) requeueAfterMs = result.resyncAfterSeconds * 1_000;

    // All revisions agree the parent is finalized: let it go.
    if (result.finalized && (parent.metadata.finalizers ?? []).includes(this.#finalizer)) {
      try {
        parent = await setFinalizer(
          client,
          this.#parent.type,
          parent,
          this.#finalizer,
          false,
          signal,
        );
      } catch (error) {
        if (isNotFound(error)) return undefined;
        if (isConflict(error)) return { requeueAfterMs: 0 };
        throw new SyncFailure(
          "FinalizerFailed",
          `can't remove finalizer for ${this.#parent.kind} ${objectKey(parent)}: ${errorText(error)}`,
        );
      }
    }

    // Children must match the parent's selector, or they would be orphaned at once.
    const desired = new Map<string, KubeObject>();
    for (const child of result.children) {
      if (!matches(child.metadata?.labels)) {
        throw new SyncFailure(
          "InvalidChildren",
          `labels on desired child ${child.kind} ${child.metadata?.namespace ?? ""}/${child.metadata?.name} don't match parent selector`,
        );
      }
      desired.set(
        `${groupKind(child.apiVersion, child.kind)}/${child.metadata.namespace ?? ""}/${child.metadata.name}`,
        child,
      );
    }

    let manageError: Error | undefined;
    let outcome: ManageOutcome | undefined;
    if (!deleting || shouldFinalize(parent, this.#finalizer, wantFinalizer)) {
      outcome = await manageChildren(parent, observed, [...desired.values()], {
        client,
        fieldManager: this.#context.fieldManager,
        memory: this.#memory,
        kindOf: (apiVersion, kind) => this.#kindOf(apiVersion, kind),
        cached: (kind, namespace, name) =>
          this.#childInformers
            .get(groupKind(kind.apiVersion, kind.kind))
            ?.store.get(namespace ? `${namespace}/${name}` : name),
        signal,
      });
      this.#logOutcome(parent, outcome);
      if (outcome.errors.length > 0) {
        manageError = new SyncFailure(
          "ApplyFailed",
          `can't reconcile children for ${this.#parent.kind} ${objectKey(parent)}: ${outcome.errors.map((e) => e.message).join("; ")}`,
        );
      } else if (outcome.conflicts.length > 0) {
        manageError = new SyncFailure(
          "ChildConflict",
          `${outcome.conflicts.join("; ")}; children that another owner controls are never taken over`,
        );
      }
    }

    // The status: what the hook returned, with the generation it saw.
    const status: Record<string, unknown> = { ...(result.status ?? {}) };
    status.observedGeneration = parent.metadata.generation ?? 0;
    const written = manageError
      ? withCondition(status, {
          type: syncedConditionType,
          status: "False",
          reason: (manageError as SyncFailure).reason,
          message: manageError.message,
        })
      : status;
    try {
      await replaceStatus(client, this.#parent.type, parent, written, {
        subresource: true,
        signal,
      });
    } catch (error) {
      // Gone, or changed since: nothing to do, or a new sync is on its way.
      if (!isNotFound(error) && !isConflict(error) && !isTestFailure(error)) {
        throw new SyncFailure(
          "StatusFailed",
          `can't update status for ${this.#parent.kind} ${objectKey(parent)}: ${errorText(error)}`,
        );
      }
    }
    if (manageError) {
      this.#context.recorder.record(parent, {
        type: "Warning",
        reason: "SyncError",
        message: `Sync error: ${manageError.message}`,
        action: "Sync",
      });
      const retry = new SyncFailure((manageError as SyncFailure).reason, manageError.message);
      retry.reported = true;
      throw retry;
    }
    return requeueAfterMs !== undefined ? { requeueAfterMs } : undefined;
  }

  #logOutcome(parent: KubeObject, outcome: ManageOutcome): void {
    const parts: string[] = [];
    if (outcome.created.length > 0) parts.push(`created ${outcome.created.join(", ")}`);
    if (outcome.updated.length > 0) parts.push(`updated ${outcome.updated.join(", ")}`);
    if (outcome.deleted.length > 0) parts.push(`deleted ${outcome.deleted.join(", ")}`);
    if (outcome.recreated.length > 0)
      parts.push(`deleted ${outcome.recreated.join(", ")} to create again`);
    if (parts.length === 0) return;
    this.#context.logger.info(
      { controller: this.name, parent: objectKey(parent) },
      parts.join("; "),
    );
  }
}

/** A failed JSON patch `test` (the object changed or was replaced): like a conflict. */
function isTestFailure(error: unknown): boolean {
  const code = (error as { code?: number } | null)?.code;
  return code === 422 && /test/i.test(errorText(error));
}
