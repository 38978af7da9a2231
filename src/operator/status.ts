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

/**
 * Statuses just written whose watch event has not reached the parent cache yet. A child's event
 * often arrives before the parent's own status update; the reconcile it triggers would read the
 * parent as it was before the write, find the status different and write it again. With this
 * memory, a parent whose cached `resourceVersion` is still the one the write was based on is
 * compared with the status written instead.
 *
 * Entries live until the cache shows a newer parent or {@link RecentStatusWrites.ttlMs} passes,
 * so a cache that never catches up (the parent deleted meanwhile) holds nothing for long.
 *
 * @example
 * const recent = new RecentStatusWrites();
 * recent.wrote(key, parent, written.status);
 * const base = recent.current(key, cachedParent); // the parent with the status last written
 */
export class RecentStatusWrites {
  static readonly ttlMs = 30_000;
  readonly #entries = new Map<
    string,
    { basedOn: string | undefined; status: unknown; at: number }
  >();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Records that `status` was written over `parent` (the version the write was based on). */
  wrote(key: string, parent: KubeObject, status: unknown): void {
    this.#sweep();
    this.#entries.delete(key); // re-inserted last: the map stays in time order
    this.#entries.set(key, {
      basedOn: parent.metadata.resourceVersion,
      status,
      at: this.#now(),
    });
  }

  /**
   * The parent to compare a wanted status with: `parent` itself, or, while the cache still
   * holds the version a write was based on, `parent` with the status that write stored.
   */
  current(key: string, parent: KubeObject): KubeObject {
    const entry = this.#entries.get(key);
    if (!entry) return parent;
    if (
      entry.basedOn !== parent.metadata.resourceVersion ||
      this.#now() - entry.at > RecentStatusWrites.ttlMs
    ) {
      this.#entries.delete(key);
      return parent;
    }
    return { ...parent, status: entry.status };
  }

  /** Forgets a parent (deleted, or its write failed). */
  forget(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }

  #sweep(): void {
    const oldest = this.#now() - RecentStatusWrites.ttlMs;
    for (const [key, entry] of this.#entries) {
      if (entry.at >= oldest) break;
      this.#entries.delete(key);
    }
  }
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
