/**
 * Writes to a parent (or decorated object), each only when it changes something: the
 * controller's finalizer, the status the hook returned (which replaces the status, plus
 * `observedGeneration` for CompositeControllers), and the condition that reports a failed sync.
 */
import type { KubeClient } from "../client/client.ts";
import { jsonEqual } from "../common/json.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";

/** The finalizer Metacontroller puts on parents of a CompositeController with a finalize hook. */
export function compositeFinalizer(controller: string): string {
  return `metacontroller.io/compositecontroller-${controller}`;
}

/** The finalizer Metacontroller puts on objects of a DecoratorController with a finalize hook. */
export function decoratorFinalizer(controller: string): string {
  return `metacontroller.io/decoratorcontroller-${controller}`;
}

/** Finalizers with which the garbage collector deletes or orphans dependents itself. */
const gcFinalizers = new Set(["foregroundDeletion", "orphan"]);

/** True when children should still be managed while the parent is being deleted. */
export function shouldFinalize(parent: KubeObject, finalizer: string, enabled: boolean): boolean {
  const finalizers = parent.metadata.finalizers ?? [];
  // With a GC finalizer the garbage collector acts on the children: do not fight it.
  if (finalizers.some((f) => gcFinalizers.has(f))) return false;
  return enabled && finalizers.includes(finalizer);
}

function where(object: KubeObject, signal: AbortSignal | undefined) {
  return {
    ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
    ...(signal ? { signal } : {}),
  };
}

/**
 * Adds or removes `finalizer`; returns the updated object, or the same one when nothing changed.
 * The write fails with a conflict when the object changed since it was read, so no one else's
 * finalizer is dropped.
 */
export async function setFinalizer(
  client: KubeClient,
  type: ResourceType,
  object: KubeObject,
  finalizer: string,
  present: boolean,
  signal?: AbortSignal,
): Promise<KubeObject> {
  const finalizers = object.metadata.finalizers ?? [];
  if (finalizers.includes(finalizer) === present) return object;
  const next = present ? [...finalizers, finalizer] : finalizers.filter((f) => f !== finalizer);
  return client.patch(
    type,
    object.metadata.name!,
    { metadata: { resourceVersion: object.metadata.resourceVersion, finalizers: next } },
    where(object, signal),
  );
}

/**
 * Replaces the status with `status` when it differs; returns whether it wrote. Guarded by the
 * UID, so a status computed for one object never lands on a new object of the same name.
 */
export async function replaceStatus(
  client: KubeClient,
  type: ResourceType,
  object: KubeObject,
  status: Record<string, unknown>,
  options: { subresource: boolean; signal?: AbortSignal | undefined },
): Promise<boolean> {
  if (jsonEqual(object.status ?? null, status)) return false;
  await client.patch(
    type,
    object.metadata.name!,
    [
      { op: "test", path: "/metadata/uid", value: object.metadata.uid },
      { op: "add", path: "/status", value: status },
    ],
    { ...where(object, options.signal), ...(options.subresource ? { subresource: "status" } : {}) },
  );
  return true;
}

/** A condition as Metacontroller writes them: type, status, reason, message. */
export interface StatusCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
}

/**
 * `status` with `condition` set (replacing the condition of the same type, or appended), as
 * Metacontroller's `SetCondition` does.
 */
export function withCondition(
  status: Record<string, unknown> | undefined,
  condition: StatusCondition,
): Record<string, unknown> {
  const entry: Record<string, unknown> = { type: condition.type, status: condition.status };
  if (condition.reason) entry.reason = condition.reason;
  if (condition.message) entry.message = condition.message;
  const conditions = Array.isArray(status?.conditions) ? [...(status.conditions as unknown[])] : [];
  const index = conditions.findIndex(
    (item) => (item as { type?: unknown } | null)?.type === condition.type,
  );
  if (index >= 0) conditions[index] = entry;
  else conditions.push(entry);
  return { ...(status ?? {}), conditions };
}

/** The condition type that reports a failed sync on parents with a status. */
export const syncedConditionType = "Synced";
