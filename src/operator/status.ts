/**
 * The parent's status: what `sync` returned, plus `observedGeneration` and Operon's own `Synced`
 * condition, written through the `/status` subresource only when it differs from what is there.
 */
import type { KubeClient } from "../client/client.ts";
import { jsonEqual } from "../common/json.ts";
import { type Condition, formatTime } from "../resources/conditions.ts";
import type { KubeObject } from "../resources/object.ts";

/** Operon's condition on every parent. */
export const syncedCondition = "Synced";

export interface SyncedState {
  status: "True" | "False";
  /** CamelCase, e.g. `Synced`, `SyncFailed`, `ChildConflict`. */
  reason: string;
  message: string;
}

type Status = Record<string, unknown> & { conditions?: Condition[]; observedGeneration?: number };

/**
 * The status to store. `user` is what `sync` returned (`undefined`: keep the live fields).
 * Conditions keep their `lastTransitionTime` while their status does not change, so an unchanged
 * result produces an identical status and no write.
 */
export function desiredStatus(
  parent: KubeObject,
  user: Record<string, unknown> | undefined,
  synced: SyncedState,
  now = new Date(),
): Status {
  const live = (parent.status ?? {}) as Status;
  const base: Status = user ? { ...user } : { ...live };
  const generation = parent.metadata.generation;
  const liveConditions = live.conditions ?? [];
  const wanted: Array<Omit<Condition, "lastTransitionTime"> & { lastTransitionTime?: string }> = [
    ...((base.conditions ?? []) as Condition[]).filter((c) => c.type !== syncedCondition),
    { type: syncedCondition, ...synced },
  ];
  const conditions = wanted.map((condition): Condition => {
    const existing = liveConditions.find((c) => c.type === condition.type);
    const transitioned = !existing || existing.status !== condition.status;
    const observedGeneration = condition.observedGeneration ?? generation;
    return {
      type: condition.type,
      status: condition.status,
      ...(observedGeneration === undefined ? {} : { observedGeneration }),
      lastTransitionTime: transitioned
        ? (condition.lastTransitionTime ?? formatTime(now))
        : existing.lastTransitionTime,
      reason: condition.reason,
      message: condition.message ?? "",
    };
  });
  const status: Status = { ...base, conditions };
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/** True when `wanted` differs from the parent's live status. */
export function statusDiffers(parent: KubeObject, wanted: Status): boolean {
  return !jsonEqual(parent.status ?? {}, wanted);
}

/** Writes the status with server-side apply on `/status`; returns the updated parent. */
export async function writeStatus(
  client: KubeClient,
  parentType: { apiVersion: string; kind: string },
  parent: KubeObject,
  status: Status,
  fieldManager: string,
  signal?: AbortSignal,
): Promise<KubeObject> {
  const { name, namespace } = parent.metadata;
  return client.apply(
    parentType,
    {
      apiVersion: parent.apiVersion,
      kind: parent.kind,
      metadata: { name: name!, ...(namespace ? { namespace } : {}) },
      status,
    } as never,
    {
      subresource: "status",
      fieldManager,
      force: true,
      ...(namespace ? { namespace } : {}),
      ...(signal ? { signal } : {}),
    },
  );
}
