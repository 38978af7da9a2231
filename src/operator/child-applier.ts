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
import { foldCreatedFields } from "./field-ownership.ts";
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
  const where = (namespace: string | undefined) => ({
    ...(namespace ? { namespace } : {}),
    ...(signal ? { signal } : {}),
  });

  const apply = async (child: PreparedChild): Promise<number> => {
    const write = () =>
      client.apply(child.type, child.object as never, {
        fieldManager,
        force: true,
        ...where(child.namespace),
      });
    let result = await write();
    let writes = 1;
    // A child Operon created still owns its first fields through the create's `Update` entry;
    // when the new desired state dropped some of them, hand them to the apply entry and apply
    // again so the server removes them.
    const folded = foldCreatedFields(result.metadata.managedFields, fieldManager);
    if (folded) {
      await client.patch(
        child.type,
        child.name,
        [
          { op: "test", path: "/metadata/resourceVersion", value: result.metadata.resourceVersion },
          { op: "replace", path: "/metadata/managedFields", value: folded },
        ],
        where(child.namespace),
      );
      result = await write();
      writes += 2;
    }
    memory.remember(result.metadata.uid!, child.hash, result.metadata.resourceVersion!);
    return writes;
  };

  /**
   * Creates a child that is not in the cache. A create fails when the name is taken, so an
   * object someone else made is never modified; only then is it read, to tell a foreign object
   * from one of this parent's the cache has not seen yet.
   */
  const create = async (child: PreparedChild): Promise<KubeObject | "created" | "gone"> => {
    try {
      const result = await client.create(child.type, child.object as never, {
        fieldManager,
        fieldValidation: "Strict",
        ...where(child.namespace),
      });
      memory.remember(result.metadata.uid!, child.hash, result.metadata.resourceVersion!);
      return "created";
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    const found = await client
      .get(child.type, child.name, where(child.namespace))
      .catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
    return found ?? "gone";
  };

  type Step =
    | { kind: "created" | "updated" | "recreating"; writes: number }
    | { kind: "conflict"; message: string }
    | { kind: "waiting" | "unchanged" }
    | { kind: "failed"; error: unknown };

  const reconcileOne = async (child: PreparedChild): Promise<Step> => {
    try {
      let current = live
        .owned(child.group)
        .find(
          (object) =>
            object.metadata.name === child.name && object.metadata.namespace === child.namespace,
        );
      if (!current) {
        const cached = live.cached(child.group, child.namespace, child.name);
        if (cached) {
          return {
            kind: "conflict",
            message: `${child.label} exists and is ${describeController(cached)}`,
          };
        }
        const found = await create(child);
        if (found === "created") return { kind: "created", writes: 1 };
        // Taken and gone again: the watch brings the news, and the next sync creates it.
        if (found === "gone") return { kind: "waiting" };
        if (!isControlledBy(found, parent)) {
          return {
            kind: "conflict",
            message: `${child.label} exists and is ${describeController(found)}`,
          };
        }
        current = found;
      }
      if (current.metadata.deletionTimestamp) return { kind: "waiting" };
      if (child.strategy === "onDelete") return { kind: "unchanged" };
      if (!needsWrite(child.object, child.hash, current, memory)) return { kind: "unchanged" };
      if (child.strategy === "recreate") {
        await client.delete(child.type, child.name, {
          ...where(child.namespace),
          preconditions: { uid: current.metadata.uid! },
        });
        memory.deleted(current.metadata.uid);
        return { kind: "recreating", writes: 1 };
      }
      return { kind: "updated", writes: await apply(child) };
    } catch (error) {
      // The object changed under us (or appeared, or went): the watch brings the news, and
      // the next sync tries again.
      if (isConflict(error) || isAlreadyExists(error)) return { kind: "waiting" };
      return { kind: "failed", error };
    }
  };

  // Children of one parent are independent: their round trips overlap.
  const steps = await Promise.all(desired.map(reconcileOne));
  steps.forEach((step, index) => {
    const label = desired[index]!.label;
    switch (step.kind) {
      case "created":
      case "updated":
      case "recreating":
        outcome.writes += step.writes;
        outcome[step.kind].push(label);
        break;
      case "conflict":
        outcome.conflicts.push(step.message);
        break;
      case "waiting":
        outcome.waiting.push(label);
        break;
      case "failed":
        outcome.failures.push({ child: label, error: step.error });
        break;
    }
  });

  const deletions: Promise<void>[] = [];
  for (const [group, type] of groups) {
    for (const object of live.owned(group)) {
      const { namespace, name, uid, deletionTimestamp } = object.metadata;
      if (wanted.has(identity(object, namespace, name!))) continue;
      if (!isControlledBy(object, parent)) continue;
      if (deletionTimestamp) continue;
      deletions.push(
        client.delete(type, name!, { ...where(namespace), preconditions: { uid: uid! } }).then(
          () => {
            outcome.writes++;
            memory.deleted(uid);
            outcome.deleted.push(labelOf(object));
          },
          (error: unknown) => {
            if (isNotFound(error) || isConflict(error)) return; // already gone, or replaced
            outcome.failures.push({ child: labelOf(object), error });
          },
        ),
      );
    }
  }
  await Promise.all(deletions);
  outcome.deleted.sort();
  return outcome;
}
