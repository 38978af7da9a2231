/**
 * One DecoratorController at run time: every object of its `resources` that matches their label
 * and annotation selectors is sent to the sync hook, which may set labels, annotations and status
 * on it and attach objects (owned by it, marked with the controller's annotation). The finalize
 * hook runs when the object is deleted, or when it stops matching the selectors.
 */
import type { HandlerRegistration, Informer } from "../cache/index.ts";
import type { KubeClient } from "../client/client.ts";
import { isConflict, isNotFound } from "../client/errors.ts";
import { jsonEqual } from "../common/json.ts";
import {
  Controller,
  type ReconcileContext,
  type ReconcileResult,
} from "../controller/controller.ts";
import type { KubeObject } from "../resources/object.ts";
import {
  AppliedState,
  type ChildKind,
  controllerOf,
  groupKind,
  type ManageOutcome,
  manageChildren,
} from "./children.ts";
import { ControllerStartError, SyncFailure } from "./composite.ts";
import type { Instrumentation, MetacontrollerContext, ResolvedResource } from "./context.ts";
import { resolveResource } from "./context.ts";
import { CustomizeManager, RelatedNotSyncedError } from "./customize.ts";
import { goController, goJson, Ordered } from "./go-json.ts";
import { createHookClients, type HookClient, HookError, HookRetryLaterError } from "./hook.ts";
import type { FieldType } from "./json-check.ts";
import { buildObjectMap, groupKey } from "./object-map.ts";
import {
  decoratorFinalizer,
  replaceStatus,
  setFinalizer,
  shouldFinalize,
  syncedConditionType,
  withCondition,
} from "./parent.ts";
import { type Matcher, matchEverything, selectorMatcher } from "./selector.ts";
import type { DecoratorController } from "./types.ts";

/** The annotation on every attachment, naming the DecoratorController that made it. */
export const decoratorControllerAnnotation = "metacontroller.k8s.io/decorator-controller";

export const decoratorResponseFields: Readonly<Record<string, FieldType>> = {
  labels: "stringMap",
  annotations: "stringMap",
  status: "object",
  attachments: "objects",
  resyncAfterSeconds: "number",
  finalized: "boolean",
};

interface Target {
  resource: ResolvedResource;
  labels: Matcher;
  annotations: Matcher;
  ignoreStatusChanges: boolean;
  informer: Informer<KubeObject>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function mapsEqual(a: Record<string, string> | undefined, b: Record<string, string> | undefined) {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b ?? {}).length && ak.every((k) => a![k] === b?.[k]);
}

/** `~` and `/` escaped for a JSON pointer. */
function pointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * JSON patch operations that apply `updates` (null removes) to the map at `path`; empty when
 * nothing changes.
 */
export function mapPatch(
  path: string,
  current: Record<string, string> | undefined,
  updates: Record<string, string | null> | null | undefined,
): Array<{ op: string; path: string; value?: unknown }> {
  const ops: Array<{ op: string; path: string; value?: unknown }> = [];
  if (!updates) return ops;
  if (!current) {
    const added = Object.fromEntries(
      Object.entries(updates).filter((entry): entry is [string, string] => entry[1] !== null),
    );
    if (Object.keys(added).length > 0) ops.push({ op: "add", path, value: added });
    return ops;
  }
  for (const [key, value] of Object.entries(updates)) {
    if (value === null) {
      if (key in current) ops.push({ op: "remove", path: `${path}/${pointer(key)}` });
    } else if (current[key] !== value) {
      ops.push({ op: "add", path: `${path}/${pointer(key)}`, value });
    }
  }
  return ops;
}

/** Built-in API groups: their objects' status belongs to their own controllers. */
function isBuiltinGroup(group: string): boolean {
  return !group.includes(".") || group.endsWith(".k8s.io");
}

export class DecoratorRuntime {
  readonly controller: DecoratorController;
  readonly name: string;
  readonly #context: MetacontrollerContext;
  readonly #instrumentation: Instrumentation;
  readonly #memory = new AppliedState();
  readonly #targets = new Map<string, Target>();
  readonly #registrations: HandlerRegistration[] = [];
  #attachments: ChildKind[] = [];
  #attachmentInformers = new Map<string, Informer<KubeObject>>();
  #sync: HookClient | undefined;
  #finalize: HookClient | undefined;
  #customize!: CustomizeManager;
  #queue: Controller | undefined;
  readonly #finalizer: string;

  constructor(controller: DecoratorController, context: MetacontrollerContext) {
    this.controller = controller;
    this.name = controller.metadata.name!;
    this.#context = context;
    this.#instrumentation = context.instrumentation(`decoratorcontroller-${this.name}`);
    this.#finalizer = decoratorFinalizer(this.name);
  }

  /** `apiVersion:kind:namespace:name`, Metacontroller's key of a decorated object. */
  static keyOf(object: KubeObject): string {
    return `${object.apiVersion}:${object.kind}:${object.metadata.namespace ?? ""}:${object.metadata.name}`;
  }

  async start(signal?: AbortSignal): Promise<void> {
    const { client, informers } = this.#context;
    const spec = this.controller.spec;
    if (!spec.hooks) throw new ControllerStartError("no hooks defined");
    for (const rule of spec.resources ?? []) {
      let resource: ResolvedResource;
      try {
        resource = await resolveResource(client, rule, signal);
      } catch (error) {
        throw new ControllerStartError(`can't find resource: ${errorText(error)}`);
      }
      let labels: Matcher;
      let annotations: Matcher;
      try {
        labels = selectorMatcher(rule.labelSelector, matchEverything);
        annotations = selectorMatcher(
          rule.annotationSelector
            ? {
                ...(rule.annotationSelector.matchAnnotations
                  ? { matchLabels: rule.annotationSelector.matchAnnotations }
                  : {}),
                ...(rule.annotationSelector.matchExpressions
                  ? { matchExpressions: rule.annotationSelector.matchExpressions }
                  : {}),
              }
            : undefined,
          matchEverything,
        );
      } catch (error) {
        throw new ControllerStartError(
          `can't convert selector for resource "${rule.resource}" in apiVersion "${rule.apiVersion}": ${errorText(error)}`,
        );
      }
      this.#targets.set(groupKind(resource.apiVersion, resource.kind), {
        resource,
        labels,
        annotations,
        ignoreStatusChanges: rule.ignoreStatusChanges === true,
        informer: informers.informer(resource.type),
      });
    }
    for (const rule of spec.attachments ?? []) {
      let resolved: ResolvedResource;
      try {
        resolved = await resolveResource(client, rule, signal);
      } catch (error) {
        throw new ControllerStartError(`can't find child resource: ${errorText(error)}`);
      }
      this.#attachments.push({
        apiVersion: resolved.apiVersion,
        kind: resolved.kind,
        group: resolved.group,
        plural: resolved.plural,
        namespaced: resolved.namespaced,
        type: resolved.type,
        method: rule.updateStrategy?.method || "OnDelete",
        statusChecks: [],
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
        parentNamespaced: (parent) => this.#targetOf(parent)?.resource.namespaced ?? false,
        enqueue: (key) => this.#queue?.enqueue(key, "related-changed"),
        parents: () =>
          [...this.#targets.values()].flatMap((target) => target.informer.store.list()),
      });
    } catch (error) {
      await Promise.all([this.#sync?.close(), this.#finalize?.close()]);
      throw new ControllerStartError(errorText(error));
    }
    for (const kind of this.#attachments) {
      this.#attachmentInformers.set(
        groupKind(kind.apiVersion, kind.kind),
        informers.informer(kind.type),
      );
    }

    const { instrument, queueMetrics } = this.#instrumentation;
    const reconcile = (key: string, context: ReconcileContext) => this.#reconcile(key, context);
    const queue = new Controller({
      name: `decoratorcontroller-${this.name}`,
      reconcile: instrument?.(reconcile) ?? reconcile,
      concurrency: this.#context.workers,
      ...(queueMetrics ? { metrics: queueMetrics } : {}),
      onError: (key, error, retry) =>
        this.#context.logger.debug(
          {
            controller: this.name,
            object: key,
            failures: retry.failures,
            retryInMs: retry.retryInMs,
            err: error,
          },
          `will retry ${key}`,
        ),
    });
    this.#queue = queue;
    const resyncSeconds = spec.resyncPeriodSeconds;
    const resyncPeriodMs =
      resyncSeconds !== undefined && resyncSeconds !== null
        ? Math.max(1, resyncSeconds) * 1_000
        : this.#context.resyncPeriodMs;
    for (const target of this.#targets.values()) {
      const enqueue = (object: KubeObject, reason: "primary-changed" | "resync") => {
        if (this.#tracked(target, object)) queue.enqueue(DecoratorRuntime.keyOf(object), reason);
      };
      this.#registrations.push(
        target.informer.addHandler(
          {
            add: (object) => enqueue(object, "primary-changed"),
            update: (old, object, info) => {
              if (info.resync) return enqueue(object, "resync");
              if (old.metadata.resourceVersion === object.metadata.resourceVersion) return;
              if (
                target.ignoreStatusChanges &&
                old.metadata.generation === object.metadata.generation &&
                mapsEqual(old.metadata.labels, object.metadata.labels) &&
                mapsEqual(old.metadata.annotations, object.metadata.annotations) &&
                object.metadata.deletionTimestamp === undefined
              )
                return;
              enqueue(object, "primary-changed");
            },
            delete: (object) => enqueue(object, "primary-changed"),
          },
          {
            name: `decoratorcontroller-${this.name}`,
            ...(resyncPeriodMs > 0 ? { resyncPeriodMs } : {}),
          },
        ),
      );
    }
    for (const informer of this.#attachmentInformers.values()) {
      const notify = (child: KubeObject) => {
        const key = this.#parentOfAttachment(child);
        if (key) queue.enqueue(key, "owned-changed");
      };
      this.#registrations.push(
        informer.addHandler(
          {
            add: notify,
            update: (old, object, info) => {
              if (!info.resync && old.metadata.resourceVersion !== object.metadata.resourceVersion)
                notify(object);
            },
            delete: (child) => {
              this.#memory.forget(child.metadata.uid);
              notify(child);
            },
          },
          { name: `decoratorcontroller-${this.name}/attachments` },
        ),
      );
    }
    this.#context.logger.info(
      { controller: this.name },
      `starting DecoratorController ${this.name}`,
    );
    await Promise.all(this.#registrations.map((registration) => registration.waitForSync(signal)));
    await queue.start(signal);
  }

  async stop(timeoutMs?: number): Promise<boolean> {
    for (const registration of this.#registrations) registration.remove();
    const drained = (await this.#queue?.shutdown(timeoutMs)) ?? true;
    this.#customize?.stop();
    await Promise.all([this.#sync?.close(), this.#finalize?.close()]);
    this.#instrumentation.release?.();
    return drained;
  }

  stats(): { queued: number; delayed: number; running: number } {
    return this.#queue?.stats() ?? { queued: 0, delayed: 0, running: 0 };
  }

  #targetOf(object: KubeObject): Target | undefined {
    return this.#targets.get(groupKind(object.apiVersion, object.kind));
  }

  #matches(target: Target, object: KubeObject): boolean {
    return target.labels(object.metadata.labels) && target.annotations(object.metadata.annotations);
  }

  #tracked(target: Target, object: KubeObject): boolean {
    return (
      this.#matches(target, object) || (object.metadata.finalizers ?? []).includes(this.#finalizer)
    );
  }

  #parentOfAttachment(child: KubeObject): string | undefined {
    const ref = controllerOf(child);
    if (!ref) return undefined;
    const target = this.#targets.get(groupKind(ref.apiVersion, ref.kind));
    if (!target) return undefined;
    const key = target.resource.namespaced ? `${child.metadata.namespace}/${ref.name}` : ref.name;
    const parent = target.informer.store.get(key);
    if (!parent || parent.metadata.uid !== ref.uid || !this.#tracked(target, parent))
      return undefined;
    return DecoratorRuntime.keyOf(parent);
  }

  #find(key: string): { target: Target; object: KubeObject | undefined } | undefined {
    const [apiVersion, kind, namespace, name] = key.split(":") as [string, string, string, string];
    const target = this.#targets.get(groupKind(apiVersion, kind));
    if (!target) return undefined;
    return { target, object: target.informer.store.get(namespace ? `${namespace}/${name}` : name) };
  }

  async #reconcile(key: string, context: ReconcileContext): Promise<ReconcileResult | undefined> {
    const found = this.#find(key);
    if (!found?.object) {
      this.#customize.forget(key);
      return undefined;
    }
    const { target, object } = found;
    if (!this.#tracked(target, object)) return undefined;
    try {
      return await this.#syncObject(target, object, key, context.signal);
    } catch (error) {
      if (error instanceof HookRetryLaterError) return { requeueAfterMs: error.retryAfterMs };
      if (error instanceof RelatedNotSyncedError || context.signal.aborted) throw error;
      if (error instanceof SyncFailure && error.reported) throw error;
      await this.#reportFailure(target, object, error, context.signal);
      throw error;
    }
  }

  async #reportFailure(
    target: Target,
    object: KubeObject,
    error: unknown,
    signal: AbortSignal,
  ): Promise<void> {
    const message = errorText(error);
    const reason =
      error instanceof HookError || error instanceof SyncFailure ? error.reason : "SyncFailed";
    this.#context.logger.warn(
      { controller: this.name, object: DecoratorRuntime.keyOf(object), reason, err: error },
      `sync of ${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata.name} failed: ${message}`,
    );
    this.#context.recorder.record(object, {
      type: "Warning",
      reason: "SyncError",
      message: `Sync error: ${message}`,
      action: "Sync",
    });
    // A condition only on objects whose status a custom controller owns: a built-in's status
    // belongs to its own controller.
    const { resource } = target;
    if (!resource.subresources.includes("status") || isBuiltinGroup(resource.group)) return;
    const status = withCondition(object.status as Record<string, unknown> | undefined, {
      type: syncedConditionType,
      status: "False",
      reason,
      message,
    });
    await replaceStatus(this.#context.client, resource.type, object, status, {
      subresource: true,
      signal,
    }).catch(() => {});
  }

  #attachmentsOf(object: KubeObject): KubeObject[] {
    const uid = object.metadata.uid!;
    const namespace = object.metadata.namespace;
    const result: KubeObject[] = [];
    for (const informer of this.#attachmentInformers.values()) {
      for (const child of informer.store.byIndex("controller", uid)) {
        if (namespace && child.metadata.namespace !== namespace) continue;
        if (child.metadata.annotations?.[decoratorControllerAnnotation] !== this.name) continue;
        result.push(child);
      }
    }
    return result;
  }

  #kindOf(apiVersion: string | undefined, kind: string): ChildKind | undefined {
    const wanted = groupKind(apiVersion ?? "", kind);
    return this.#attachments.find((child) => groupKind(child.apiVersion, child.kind) === wanted);
  }

  async #syncObject(
    target: Target,
    initial: KubeObject,
    key: string,
    signal: AbortSignal,
  ): Promise<ReconcileResult | undefined> {
    const { client } = this.#context;
    const type = target.resource.type;
    let object = initial;
    const wantFinalizer = this.#finalize !== undefined;
    const hasFinalizer = (object.metadata.finalizers ?? []).includes(this.#finalizer);
    if (wantFinalizer !== hasFinalizer && !(wantFinalizer && object.metadata.deletionTimestamp)) {
      try {
        object = await setFinalizer(client, type, object, this.#finalizer, wantFinalizer, signal);
      } catch (error) {
        if (isConflict(error) || isNotFound(error)) return undefined;
        throw new SyncFailure(
          "FinalizerFailed",
          `can't sync finalizer for ${object.kind} ${key}: ${errorText(error)}`,
        );
      }
      if (!this.#tracked(target, object)) return undefined;
    }
    const observed = this.#attachmentsOf(object);
    const related = await this.#customize.related(object, signal);

    const matches = this.#matches(target, object);
    const finalizing =
      this.#finalize !== undefined && (object.metadata.deletionTimestamp !== undefined || !matches);
    const hook = finalizing ? this.#finalize : this.#sync;
    if (!hook) throw new SyncFailure("NoHook", "no enabled hooks found");
    const namespace = object.metadata.namespace;
    const body = goJson(
      new Ordered([
        ["controller", goController(this.controller)],
        ["object", object],
        [
          "attachments",
          buildObjectMap(
            hook.version,
            namespace,
            this.#attachments.map((kind) => groupKey(kind.apiVersion, kind.kind)),
            observed,
          ),
        ],
        ["related", buildObjectMap(hook.version, namespace, related.groups, related.objects)],
        ["finalizing", finalizing],
      ]),
    );
    const response = await hook
      .call(body, object, decoratorResponseFields, signal)
      .catch((error) => {
        if (error instanceof HookError) {
          throw new HookError(
            error.reason,
            `${finalizing ? "finalize" : "sync"} hook failed (version=${hook.version}): ${error.message}`,
          );
        }
        throw error;
      });
    const resync = (response.resyncAfterSeconds as number | null) ?? 0;
    const finalized = (response.finalized as boolean | null) ?? false;

    // Labels, annotations, status and the finalizer, each written only when it changes.
    const status = (response.status as Record<string, unknown> | null) ?? undefined;
    const hasStatusSubresource = target.resource.subresources.includes("status");
    const statusChanged = status !== undefined && !jsonEqual(status, object.status ?? null);
    if (statusChanged && hasStatusSubresource) {
      try {
        await replaceStatus(client, type, object, status!, { subresource: true, signal });
      } catch (error) {
        if (isNotFound(error) || isConflict(error)) return undefined;
        throw new SyncFailure("StatusFailed", `can't update status: ${errorText(error)}`);
      }
    }
    const ops = [
      ...mapPatch(
        "/metadata/labels",
        object.metadata.labels,
        response.labels as Record<string, string | null> | null,
      ),
      ...mapPatch(
        "/metadata/annotations",
        object.metadata.annotations,
        response.annotations as Record<string, string | null> | null,
      ),
    ];
    if (statusChanged && !hasStatusSubresource)
      ops.push({ op: "add", path: "/status", value: status });
    const removeFinalizer =
      finalized && (object.metadata.finalizers ?? []).includes(this.#finalizer);
    if (removeFinalizer) {
      ops.push(
        { op: "test", path: "/metadata/resourceVersion", value: object.metadata.resourceVersion },
        {
          op: "replace",
          path: "/metadata/finalizers",
          value: (object.metadata.finalizers ?? []).filter((f) => f !== this.#finalizer),
        },
      );
    }
    if (ops.length > 0) {
      try {
        await writeObject(client, target, object, ops, signal);
      } catch (error) {
        if (isNotFound(error) || isConflict(error) || (error as { code?: number }).code === 422) {
          return { requeueAfterMs: 0 };
        }
        throw new SyncFailure(
          "UpdateFailed",
          `can't update ${object.kind} ${key}: ${errorText(error)}`,
        );
      }
    }

    const desired = ((response.attachments as KubeObject[] | null) ?? []).map((child) => {
      const metadata = { ...(child.metadata ?? {}) } as KubeObject["metadata"];
      const kind = this.#kindOf(child.apiVersion, child.kind);
      if (!metadata.namespace && namespace && (kind?.namespaced ?? true))
        metadata.namespace = namespace;
      metadata.annotations = {
        ...(metadata.annotations ?? {}),
        [decoratorControllerAnnotation]: this.name,
      };
      return { ...child, metadata };
    });
    if (
      object.metadata.deletionTimestamp === undefined ||
      shouldFinalize(object, this.#finalizer, wantFinalizer)
    ) {
      const outcome = await manageChildren(object, observed, desired, {
        client,
        fieldManager: this.#context.fieldManager,
        memory: this.#memory,
        kindOf: (apiVersion, kind) => this.#kindOf(apiVersion, kind),
        cached: (kind, ns, name) =>
          this.#attachmentInformers
            .get(groupKind(kind.apiVersion, kind.kind))
            ?.store.get(ns ? `${ns}/${name}` : name),
        signal,
      });
      this.#logOutcome(key, outcome);
      const problems = [...outcome.errors.map((e) => e.message), ...outcome.conflicts];
      if (problems.length > 0) {
        throw new SyncFailure(
          outcome.errors.length > 0 ? "ApplyFailed" : "ChildConflict",
          `can't reconcile children for ${object.kind} ${key}: ${problems.join("; ")}`,
        );
      }
    }
    return resync > 0 ? { requeueAfterMs: resync * 1_000 } : undefined;
  }

  #logOutcome(key: string, outcome: ManageOutcome): void {
    const parts: string[] = [];
    if (outcome.created.length > 0) parts.push(`created ${outcome.created.join(", ")}`);
    if (outcome.updated.length > 0) parts.push(`updated ${outcome.updated.join(", ")}`);
    if (outcome.deleted.length > 0) parts.push(`deleted ${outcome.deleted.join(", ")}`);
    if (outcome.recreated.length > 0)
      parts.push(`deleted ${outcome.recreated.join(", ")} to create again`);
    if (parts.length > 0)
      this.#context.logger.info({ controller: this.name, object: key }, parts.join("; "));
  }
}

async function writeObject(
  client: KubeClient,
  target: Target,
  object: KubeObject,
  ops: Array<{ op: string; path: string; value?: unknown }>,
  signal: AbortSignal,
): Promise<void> {
  await client.patch(
    target.resource.type,
    object.metadata.name!,
    [{ op: "test", path: "/metadata/uid", value: object.metadata.uid }, ...ops] as never,
    {
      ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
      signal,
    },
  );
}
