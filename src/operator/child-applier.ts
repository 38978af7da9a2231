/**
 * Brings a parent's children to the desired state: creates what is missing, applies what
 * drifted, recreates per strategy, deletes what is no longer desired (with the type's
 * propagation policy, so a Job's Pods go with it), and never touches an object the parent does
 * not control — except a child kept from an earlier parent of the same name, which it takes over.
 */
import type { KubeClient } from "../client/client.ts";
import { isAlreadyExists, isConflict, isInvalid, isNotFound } from "../client/errors.ts";
import type { KubeObject } from "../resources/object.ts";
import type { ChildTypeInfo, PreparedChild } from "./desired.ts";
import { type AppliedMemory, needsWrite } from "./drift.ts";
import { diffDesired, diffObjects, type FieldDiff } from "./field-diff.ts";
import { foldCreatedFields } from "./field-ownership.ts";
import {
  controllerOf,
  isControlledBy,
  managedByLabel,
  parentNameLabel,
  parentNamespaceLabel,
  parentUidLabel,
} from "./ownership.ts";

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

/** What was done to one child. */
export type ChildActionKind =
  | "created"
  | "updated"
  | "adopted"
  | "recreating"
  | "deleted"
  | "unchanged"
  | "waiting"
  | "conflict"
  | "failed";

/** One child's line in the record of a sync: what was done to it and how many writes it cost. */
export interface ChildAction {
  /** `Kind namespace/name`. */
  child: string;
  /** The declared name of its type. */
  group: string;
  /** What was done. */
  action: ChildActionKind;
  /** API writes it cost. */
  writes: number;
  /** For conflicts and failures: why. */
  message?: string;
  /**
   * With `diff` on (tracing, `operon plan`): what changed on the server. `updated`/`adopted`: the
   * live object against the server's answer to the apply; `created`: the fields set;
   * `recreating`: the desired fields that differ from the object deleted.
   */
  diff?: FieldDiff;
}

/** What one pass over the children did. */
export interface ChildOutcome {
  writes: number;
  /** Every desired or deleted child with what was done to it, in a stable order. */
  actions: ChildAction[];
  created: string[];
  updated: string[];
  /** Kept from an earlier parent of the same name (`whenParentDeleted: "Retain"`) and taken over. */
  adopted: string[];
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
  /** Record a field-level diff per child written (see {@link ChildAction.diff}). Default false. */
  diff?: boolean;
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
 * True when `object` is a child of this type that an earlier parent with this parent's name kept
 * (`whenParentDeleted: "Retain"`): made by the same operator, labelled with this parent's name
 * and namespace but another UID, and controlled by nothing. Names are unique, so that earlier
 * parent is gone; the child is taken over as a StatefulSet takes over its volume claims.
 */
function keptFromEarlierParent(
  child: PreparedChild,
  object: KubeObject,
  parent: KubeObject,
): boolean {
  if (!child.retained || controllerOf(object)) return false;
  const wanted = child.object.metadata.labels ?? {};
  const labels = object.metadata.labels ?? {};
  return (
    labels[managedByLabel] === wanted[managedByLabel] &&
    labels[parentNameLabel] === wanted[parentNameLabel] &&
    labels[parentNamespaceLabel] === wanted[parentNamespaceLabel] &&
    labels[parentUidLabel] !== undefined &&
    labels[parentUidLabel] !== parent.metadata.uid
  );
}

/**
 * The fields a create sets, for the diff of a created child: what `sync` asked for, without the
 * type and the ownerReference Operon adds to every child.
 */
function createdFields(object: Record<string, unknown>, apiVersion?: string, kind?: string) {
  const metadata = object.metadata as Record<string, unknown> | undefined;
  const { ownerReferences: _owners, ...rest } = metadata ?? {};
  return diffObjects({ apiVersion, kind }, { ...object, metadata: rest });
}

/**
 * Reconciles one parent's children. Each child is handled on its own: one failure does not stop
 * the others, and the outcome lists every failure by child.
 */
/** How many times the hand-over of created fields is tried against an object others write too. */
const handOverAttempts = 5;

/**
 * A child Operon created still owns its first fields through the create's `Update` entry; when
 * the desired state applied since dropped some of them, this hands them to the `Apply` entry and
 * applies again, so the server removes them. The hand-over is guarded by the resourceVersion it
 * was computed from; when another writer moved the object on in between (a Deployment's
 * controller writing its status), the object is read again and the hand-over recomputed.
 * Returns the object after the last write and the writes made here.
 */
export async function handOverCreatedFields(
  client: Pick<KubeClient, "get" | "patch">,
  child: Pick<PreparedChild, "type" | "name" | "namespace">,
  applied: KubeObject,
  fieldManager: string,
  reapply: () => Promise<KubeObject>,
): Promise<{ object: KubeObject; writes: number }> {
  const where = child.namespace ? { namespace: child.namespace } : {};
  let base = applied;
  for (let attempt = 1; ; attempt++) {
    const folded = foldCreatedFields(base.metadata.managedFields, fieldManager);
    if (!folded) return { object: applied, writes: 0 };
    try {
      await client.patch(
        child.type,
        child.name,
        [
          { op: "test", path: "/metadata/resourceVersion", value: base.metadata.resourceVersion },
          { op: "replace", path: "/metadata/managedFields", value: folded },
        ],
        where,
      );
      return { object: await reapply(), writes: 2 };
    } catch (error) {
      // A failed `test` is answered 422: the object changed since `base` was read.
      if (!isInvalid(error) || attempt >= handOverAttempts) throw error;
      base = await client.get(child.type, child.name, where);
    }
  }
}

/** An outcome with nothing done yet, filled in as children are written. */
export function emptyChildOutcome(): ChildOutcome {
  return {
    writes: 0,
    actions: [],
    created: [],
    updated: [],
    adopted: [],
    deleted: [],
    recreating: [],
    conflicts: [],
    failures: [],
    waiting: [],
  };
}

export async function reconcileChildren(
  parent: KubeObject,
  desired: readonly PreparedChild[],
  live: LiveChildren,
  groups: ReadonlyMap<string, ChildTypeInfo>,
  options: ChildApplierOptions,
): Promise<ChildOutcome> {
  const outcome = emptyChildOutcome();
  const { client, fieldManager, memory, signal } = options;
  const withDiff = options.diff ?? false;
  const wanted = new Set(desired.map((child) => identity(child.type, child.namespace, child.name)));
  const where = (namespace: string | undefined) => ({
    ...(namespace ? { namespace } : {}),
    ...(signal ? { signal } : {}),
  });

  const apply = async (child: PreparedChild): Promise<{ writes: number; result: KubeObject }> => {
    const write = () =>
      client.apply(child.type, child.object as never, {
        fieldManager,
        force: true,
        ...where(child.namespace),
      });
    const applied = await write();
    const { object, writes } = await handOverCreatedFields(
      client,
      child,
      applied,
      fieldManager,
      write,
    );
    memory.remember(object.metadata.uid!, child.hash, object.metadata.resourceVersion!);
    return { writes: 1 + writes, result: object as KubeObject };
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
    | {
        kind: "created" | "updated" | "adopted" | "recreating";
        writes: number;
        diff?: FieldDiff | undefined;
      }
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
      let adopting = false;
      if (!current) {
        const cached = live.cached(child.group, child.namespace, child.name);
        if (cached && !keptFromEarlierParent(child, cached, parent)) {
          return {
            kind: "conflict",
            message: `${child.label} exists and is ${describeController(cached)}`,
          };
        }
        const found = cached ?? (await create(child));
        if (found === "created") {
          const { apiVersion, kind } = child.object as { apiVersion?: string; kind?: string };
          return {
            kind: "created",
            writes: 1,
            diff: withDiff ? createdFields(child.object, apiVersion, kind) : undefined,
          };
        }
        // Taken and gone again: the watch brings the news, and the next sync creates it.
        if (found === "gone") return { kind: "waiting" };
        adopting = keptFromEarlierParent(child, found, parent);
        if (!adopting && !isControlledBy(found, parent)) {
          return {
            kind: "conflict",
            message: `${child.label} exists and is ${describeController(found)}`,
          };
        }
        current = found;
      }
      if (current.metadata.deletionTimestamp) return { kind: "waiting" };
      // Taking over rewrites the labels that name the parent, whatever the strategy.
      const applied = async (kind: "adopted" | "updated", live: KubeObject): Promise<Step> => {
        const { writes, result } = await apply(child);
        return {
          kind,
          writes,
          diff: withDiff ? diffObjects(live, result, { withoutStatus: true }) : undefined,
        };
      };
      if (adopting) return applied("adopted", current);
      if (child.strategy === "onDelete") return { kind: "unchanged" };
      if (!needsWrite(child.object, child.hash, current, memory)) return { kind: "unchanged" };
      if (child.strategy === "recreate") {
        await client.delete(child.type, child.name, {
          ...where(child.namespace),
          preconditions: { uid: current.metadata.uid! },
          propagationPolicy: child.propagationPolicy,
        });
        memory.deleted(current.metadata.uid);
        return {
          kind: "recreating",
          writes: 1,
          diff: withDiff ? diffDesired(child.object, current) : undefined,
        };
      }
      return applied("updated", current);
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
    const { label, group } = desired[index]!;
    switch (step.kind) {
      case "created":
      case "updated":
      case "adopted":
      case "recreating":
        outcome.writes += step.writes;
        outcome[step.kind].push(label);
        outcome.actions.push({
          child: label,
          group,
          action: step.kind,
          writes: step.writes,
          ...(step.diff ? { diff: step.diff } : {}),
        });
        break;
      case "conflict":
        outcome.conflicts.push(step.message);
        outcome.actions.push({
          child: label,
          group,
          action: "conflict",
          writes: 0,
          message: step.message,
        });
        break;
      case "waiting":
      case "unchanged":
        if (step.kind === "waiting") outcome.waiting.push(label);
        outcome.actions.push({ child: label, group, action: step.kind, writes: 0 });
        break;
      case "failed":
        outcome.failures.push({ child: label, error: step.error });
        outcome.actions.push({
          child: label,
          group,
          action: "failed",
          writes: 0,
          message: step.error instanceof Error ? step.error.message : String(step.error),
        });
        break;
    }
  });

  const deletions: Promise<void>[] = [];
  const deleted: ChildAction[] = [];
  for (const [group, info] of groups) {
    for (const object of live.owned(group)) {
      const { namespace, name, uid, deletionTimestamp } = object.metadata;
      if (wanted.has(identity(object, namespace, name!))) continue;
      if (!isControlledBy(object, parent)) continue;
      if (deletionTimestamp) continue;
      const label = labelOf(object);
      deletions.push(
        client
          .delete(info.type, name!, {
            ...where(namespace),
            preconditions: { uid: uid! },
            propagationPolicy: info.propagationPolicy,
          })
          .then(
            () => {
              outcome.writes++;
              memory.deleted(uid);
              outcome.deleted.push(label);
              deleted.push({ child: label, group, action: "deleted", writes: 1 });
            },
            (error: unknown) => {
              if (isNotFound(error) || isConflict(error)) return; // already gone, or replaced
              outcome.failures.push({ child: label, error });
              deleted.push({
                child: label,
                group,
                action: "failed",
                writes: 0,
                message: error instanceof Error ? error.message : String(error),
              });
            },
          ),
      );
    }
  }
  await Promise.all(deletions);
  outcome.deleted.sort();
  deleted.sort((a, b) => (a.child < b.child ? -1 : a.child > b.child ? 1 : 0));
  outcome.actions.push(...deleted);
  return outcome;
}
