/**
 * The customize hook: asks, once per parent generation, which related objects the parent's sync
 * and finalize hooks receive (`relatedResources` by `names`, `labelSelector`, `namespace` or
 * `namespaceSelector`), serves them from shared informers, and queues the parents a related
 * object concerns when it changes.
 */
import type { HandlerRegistration, Informer } from "../cache/index.ts";
import type { KubeObject } from "../resources/object.ts";
import { objectKey } from "../resources/object.ts";
import { type MetacontrollerContext, type ResolvedResource, resolveResource } from "./context.ts";
import { goController, goJson, Ordered } from "./go-json.ts";
import type { HookClient } from "./hook.ts";
import { groupKey } from "./object-map.ts";
import { matchEverything, selectorMatcher } from "./selector.ts";
import type { AnyController, HookVersion, RelatedResourceRule } from "./types.ts";

/** A related informer is not synced yet: try the parent again shortly. */
export class RelatedNotSyncedError extends Error {
  override readonly name = "RelatedNotSyncedError";
}

const Namespace = { apiVersion: "v1", kind: "Namespace", plural: "namespaces", namespaced: false };

interface CachedRules {
  uid: string;
  generation: number | undefined;
  rules: RelatedResourceRule[];
}

interface RelatedSource {
  resource: ResolvedResource;
  informer: Informer<KubeObject>;
  registration: HandlerRegistration;
}

/** What a parent's hooks receive as `related`: the objects and a group for every rule. */
export interface RelatedObjects {
  groups: string[];
  objects: KubeObject[];
}

type SelectionType = "labels" | "namespaceAndLabels" | "namespaceSelector" | "namespaceAndNames";

function selectionType(rule: RelatedResourceRule): SelectionType {
  const hasLabels = rule.labelSelector !== undefined && rule.labelSelector !== null;
  const hasNamespaceSelector =
    rule.namespaceSelector !== undefined && rule.namespaceSelector !== null;
  const hasNamespace = Boolean(rule.namespace);
  const hasNames = (rule.names ?? []).length > 0;
  if (hasNames && (hasLabels || hasNamespaceSelector)) {
    throw new Error(
      `related rule cannot have both names and labelSelector/namespaceSelector specified: ${JSON.stringify(rule)}`,
    );
  }
  if (hasNamespace && hasNamespaceSelector) {
    throw new Error(
      `related rule cannot have both namespace and namespaceSelector specified: ${JSON.stringify(rule)}`,
    );
  }
  if (hasNamespaceSelector) return "namespaceSelector";
  if (hasLabels && hasNamespace) return "namespaceAndLabels";
  if (hasNamespace || hasNames) return "namespaceAndNames";
  return "labels";
}

export class CustomizeManager {
  readonly #context: MetacontrollerContext;
  readonly #controller: AnyController;
  readonly #hook: HookClient | undefined;
  readonly #parentNamespaced: (parent: KubeObject) => boolean;
  readonly #enqueue: (key: string, parent: KubeObject) => void;
  readonly #parents: () => Iterable<KubeObject>;
  readonly #cache = new Map<string, CachedRules>();
  readonly #sources = new Map<string, Promise<RelatedSource>>();
  #namespaces: Informer<KubeObject> | undefined;
  #stopped = false;

  constructor(options: {
    context: MetacontrollerContext;
    controller: AnyController;
    hook: HookClient | undefined;
    parentNamespaced: (parent: KubeObject) => boolean;
    /** Queues a parent whose related objects changed. */
    enqueue: (key: string, parent: KubeObject) => void;
    /** Every parent the controller knows. */
    parents: () => Iterable<KubeObject>;
  }) {
    this.#context = options.context;
    this.#controller = options.controller;
    this.#hook = options.hook;
    this.#parentNamespaced = options.parentNamespaced;
    this.#enqueue = options.enqueue;
    this.#parents = options.parents;
  }

  get enabled(): boolean {
    return this.#hook !== undefined;
  }

  /** Forgets what the customize hook said about a parent that went away. */
  forget(key: string): void {
    this.#cache.delete(key);
  }

  /** Stops watching related objects. */
  stop(): void {
    this.#stopped = true;
    for (const source of this.#sources.values()) {
      source.then((s) => s.registration.remove()).catch(() => {});
    }
    this.#sources.clear();
  }

  async #rules(parent: KubeObject, signal?: AbortSignal): Promise<RelatedResourceRule[]> {
    const key = objectKey(parent);
    const cached = this.#cache.get(key);
    if (
      cached &&
      cached.uid === parent.metadata.uid &&
      cached.generation === parent.metadata.generation
    ) {
      return cached.rules;
    }
    const hook = this.#hook!;
    const body = goJson(
      new Ordered([
        ["controller", goController(this.#controller)],
        ["parent", parent],
      ]),
    );
    const response = await hook.call(body, parent, { relatedResources: "relatedRules" }, signal);
    const rules = ((response.relatedResources as RelatedResourceRule[] | null) ?? []).filter(
      (rule): rule is RelatedResourceRule => rule !== null,
    );
    this.#cache.set(key, {
      uid: parent.metadata.uid!,
      generation: parent.metadata.generation,
      rules,
    });
    return rules;
  }

  #source(rule: RelatedResourceRule): Promise<RelatedSource> {
    const id = `${rule.apiVersion}/${rule.resource}`;
    let source = this.#sources.get(id);
    if (!source) {
      source = (async () => {
        const resource = await resolveResource(this.#context.client, rule);
        const informer = this.#context.informers.informer(resource.type);
        const registration = informer.addHandler(
          {
            add: (object) => this.#notify([object], resource),
            update: (old, object, info) => {
              if (info.resync || old.metadata.resourceVersion === object.metadata.resourceVersion)
                return;
              this.#notify([old, object], resource);
            },
            delete: (object) => this.#notify([object], resource),
          },
          { name: `related/${this.#controller.metadata.name}/${id}` },
        );
        return { resource, informer, registration };
      })();
      source.catch(() => this.#sources.delete(id));
      this.#sources.set(id, source);
    }
    return source;
  }

  #namespaceInformer(): Informer<KubeObject> {
    this.#namespaces ??= this.#context.informers.informer(Namespace);
    return this.#namespaces;
  }

  /** Queues every parent whose cached rules select one of `objects`. */
  #notify(objects: KubeObject[], resource: ResolvedResource): void {
    if (this.#stopped) return;
    for (const parent of this.#parents()) {
      const cached = this.#cache.get(objectKey(parent));
      if (!cached || cached.uid !== parent.metadata.uid) continue;
      const hit = cached.rules.some(
        (rule) =>
          rule.apiVersion === resource.apiVersion &&
          rule.resource === resource.plural &&
          objects.some((object) => {
            try {
              return this.#matches(parent, object, rule, resource);
            } catch {
              return false;
            }
          }),
      );
      if (hit) this.#enqueue(objectKey(parent), parent);
    }
  }

  #version(): HookVersion {
    return this.#hook?.version ?? "v1";
  }

  /** Whether `object` of `resource` is selected for `parent` by `rule`. */
  #matches(
    parent: KubeObject,
    object: KubeObject,
    rule: RelatedResourceRule,
    resource: ResolvedResource,
  ): boolean {
    const sameNamespaceOnly =
      this.#version() === "v1" && this.#parentNamespaced(parent) && resource.namespaced;
    const namespace = object.metadata.namespace;
    const labels = selectorMatcher(rule.labelSelector, matchEverything);
    switch (selectionType(rule)) {
      case "labels":
        if (sameNamespaceOnly && namespace !== parent.metadata.namespace) return false;
        return labels(object.metadata.labels);
      case "namespaceAndLabels":
        if (sameNamespaceOnly && namespace !== parent.metadata.namespace) return false;
        if (resource.namespaced && namespace !== rule.namespace) return false;
        return labels(object.metadata.labels);
      case "namespaceSelector": {
        if (!resource.namespaced || !namespace) return false;
        if (!labels(object.metadata.labels)) return false;
        const ns = this.#namespaceInformer().store.get(namespace);
        return ns !== undefined && selectorMatcher(rule.namespaceSelector)(ns.metadata.labels);
      }
      case "namespaceAndNames": {
        if (sameNamespaceOnly && namespace !== parent.metadata.namespace) return false;
        if (resource.namespaced && rule.namespace && namespace !== rule.namespace) return false;
        const names = rule.names ?? [];
        return names.length === 0 || names.includes(object.metadata.name!);
      }
    }
  }

  /**
   * The related objects of `parent` (none without a customize hook). Throws
   * {@link RelatedNotSyncedError} while a related type's informer is still filling.
   */
  async related(parent: KubeObject, signal?: AbortSignal): Promise<RelatedObjects> {
    if (!this.#hook) return { groups: [], objects: [] };
    const rules = await this.#rules(parent, signal);
    const groups: string[] = [];
    const found = new Map<string, KubeObject>();
    const parentNamespaced = this.#parentNamespaced(parent);
    for (const rule of rules) {
      const type = selectionType(rule);
      const { resource, informer } = await this.#source(rule);
      if (!informer.hasSynced()) {
        throw new RelatedNotSyncedError(`the ${resource.plural} informer is not synced yet`);
      }
      const v1Namespaced = this.#version() === "v1" && parentNamespaced && resource.namespaced;
      if (
        v1Namespaced &&
        (type === "namespaceAndLabels" || type === "namespaceAndNames") &&
        rule.namespace &&
        rule.namespace !== parent.metadata.namespace
      ) {
        throw new Error(
          `requested related object namespace ${rule.namespace} differs from parent object namespace ${parent.metadata.namespace}`,
        );
      }
      if (type === "namespaceSelector") {
        if (v1Namespaced) {
          throw new Error(
            "namespaceSelector is not supported for namespaced parent in v1 hook version",
          );
        }
        if (!resource.namespaced) {
          throw new Error("namespaceSelector is only supported for namespaced related resources");
        }
        const namespaces = this.#namespaceInformer();
        if (!namespaces.hasSynced()) {
          throw new RelatedNotSyncedError("the namespaces informer is not synced yet");
        }
      }
      groups.push(groupKey(resource.apiVersion, resource.kind));
      // Narrow by namespace through the index where the rule allows it.
      const namespace = v1Namespaced
        ? parent.metadata.namespace
        : resource.namespaced && rule.namespace && type !== "labels"
          ? rule.namespace
          : undefined;
      const candidates = namespace
        ? informer.store.byIndex("namespace", namespace)
        : informer.store.list();
      for (const object of candidates) {
        if (this.#matches(parent, object, rule, resource)) {
          found.set(`${resource.apiVersion}/${resource.kind}/${objectKey(object)}`, object);
        }
      }
    }
    return { groups, objects: [...found.values()] };
  }
}
