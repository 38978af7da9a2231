/**
 * Brings a parent's children to the desired state: creates what is missing, applies what
 * drifted, recreates per strategy, deletes what is no longer desired, and never touches an
 * object the parent does not control.
 */
import type { KubeClient } from "../client/client.ts";
import { isAlreadyExists, isConflict, isNotFound } from "../client/errors.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";
import type { PreparedChild } from "./desired.ts";
import { type AppliedMemory, needsWrite } from "./drift.ts";
import { controllerOf, isControlledBy } from "./ownership.ts";

/** The children of one parent as the caches see them, and a way to read past the cache. */
export interface LiveChildren {
  /** Objects of the type the parent controls (by ownerReference or tracking labels). */
  owned(group: string): KubeObject[];
  /** The cached object of the type with this name, whoever controls it. */
  cached(group: string, namespace: string | undefined, name: string): KubeObject | undefined;
}

export interface ChildFailure {
  child: string;
  error: unknown;
}

/** What one pass over the children did. */
export interface ChildOutcome {
  writes: number;
  created: string[];
  updated: string[];
  deleted: string[];
  /** Deleted to be created again once gone (strategy `recreate`). */
  recreating: string[];
  /** Desired names held by objects the parent does not control. */
  conflicts: string[];
  failures: ChildFailure[];
  /** Children still going away; the parent should look again soon. */
  waiting: string[];
}

export interface ChildApplierOptions {
  client: KubeClient;
  fieldManager: string;
  memory: AppliedMemory;
  signal?: AbortSignal;
}

function identity(
  type: { apiVersion: string; kind: string },
  namespace: string | undefined,
  name: string,
): string {
  return `${type.apiVersion}/${type.kind}/${namespace ?? ""}/${name}`;
}

function labelOf(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return `${object.kind} ${namespace ? `${namespace}/` : ""}${name}`;
}

function describeController(object: KubeObject): string {
  const owner = controllerOf(object);
  return owner ? `controlled by ${owner.kind} ${owner.name}` : "not controlled by this parent";
}

/**
 * Reconciles one parent's children. Each child is handled on its own: one failure does not stop
 * the others, and the outcome lists every failure by child.
 */
export async function reconcileChildren(
  parent: KubeObject,
  desired: readonly PreparedChild[],
  live: LiveChildren,
  groups: ReadonlyMap<string, ResourceType>,
  options: ChildApplierOptions,
): Promise<ChildOutcome> {
  const outcome: ChildOutcome = {
    writes: 0,
    created: [],
    updated: [],
    deleted: [],
    recreating: [],
    conflicts: [],
    failures: [],
    waiting: [],
  };
  const { client, fieldManager, memory, signal } = options;
  const wanted = new Set(desired.map((child) => identity(child.type, child.namespace, child.name)));

  const apply = async (child: PreparedChild, created: boolean) => {
    const result = await client.apply(child.type, child.object as never, {
      fieldManager,
      force: true,
      ...(child.namespace ? { namespace: child.namespace } : {}),
      ...(signal ? { signal } : {}),
    });
    outcome.writes++;
    memory.remember(result.metadata.uid!, child.hash, result.metadata.resourceVersion!);
    (created ? outcome.created : outcome.updated).push(child.label);
  };

  for (const child of desired) {
    try {
      const owned = live
        .owned(child.group)
        .find(
          (object) =>
            object.metadata.name === child.name && object.metadata.namespace === child.namespace,
        );
      let current: KubeObject | undefined = owned;
      if (!current) {
        const cached = live.cached(child.group, child.namespace, child.name);
        if (cached) {
          outcome.conflicts.push(`${child.label} exists and is ${describeController(cached)}`);
          continue;
        }
        // Not in the cache: children carry Operon's label, so either it does not exist or
        // someone else made it (or removed the label). Only the server can tell.
        const found = await client
          .get(child.type, child.name, {
            ...(child.namespace ? { namespace: child.namespace } : {}),
            ...(signal ? { signal } : {}),
          })
          .catch((error: unknown) => {
            if (isNotFound(error)) return undefined;
            throw error;
          });
        if (found && !isControlledBy(found, parent)) {
          outcome.conflicts.push(`${child.label} exists and is ${describeController(found)}`);
          continue;
        }
        current = found;
      }
      if (!current) {
        await apply(child, true);
        continue;
      }
      if (current.metadata.deletionTimestamp) {
        outcome.waiting.push(child.label);
        continue;
      }
      if (child.strategy === "onDelete") continue;
      if (!needsWrite(child.object, child.hash, current, memory)) continue;
      if (child.strategy === "recreate") {
        await client.delete(child.type, child.name, {
          ...(child.namespace ? { namespace: child.namespace } : {}),
          preconditions: { uid: current.metadata.uid! },
          ...(signal ? { signal } : {}),
        });
        outcome.writes++;
        memory.deleted(current.metadata.uid);
        outcome.recreating.push(child.label);
        continue;
      }
      await apply(child, false);
    } catch (error) {
      if (isConflict(error) || isAlreadyExists(error)) {
        // The object changed under us (or appeared): the watch brings the news, try again then.
        outcome.waiting.push(child.label);
        continue;
      }
      outcome.failures.push({ child: child.label, error });
    }
  }

  for (const [group, type] of groups) {
    for (const object of live.owned(group)) {
      const { namespace, name, uid, deletionTimestamp } = object.metadata;
      if (wanted.has(identity(object, namespace, name!))) continue;
      if (!isControlledBy(object, parent)) continue;
      if (deletionTimestamp) continue;
      try {
        await client.delete(type, name!, {
          ...(namespace ? { namespace } : {}),
          preconditions: { uid: uid! },
          ...(signal ? { signal } : {}),
        });
        outcome.writes++;
        memory.deleted(uid);
        outcome.deleted.push(labelOf(object));
      } catch (error) {
        if (isNotFound(error) || isConflict(error)) continue; // already gone, or replaced
        outcome.failures.push({ child: labelOf(object), error });
      }
    }
  }
  return outcome;
}
