/**
 * Operon's finalizer on parents, as a small state machine: from whether the parent is being
 * deleted and whether it carries the finalizer, one step follows — add it and sync, sync, clean
 * up and remove it, or nothing. The patches test the `resourceVersion`, so a concurrent change of
 * the list fails with a conflict (and is retried) instead of one writer dropping another's entry.
 */
import type { KubeClient } from "../client/client.ts";
import type { KubeObject, ResourceType } from "../resources/object.ts";

/** What to do with a parent, given its deletion state and Operon's finalizer. */
export type FinalizerStep =
  /** A live parent: sync it, adding the finalizer first when Operon needs one and it is missing. */
  | { kind: "sync"; addFinalizer: boolean }
  /** Being deleted and still carrying the finalizer: clean up, then remove the finalizer. */
  | { kind: "cleanup" }
  /** Being deleted without the finalizer: nothing is Operon's to do; the parent goes away. */
  | { kind: "released" };

/**
 * The step for `parent`. `needed`: whether Operon keeps a finalizer on this operator's parents.
 *
 * @example
 * finalizerStep(parent, "cache.example.com/finalizer", true); // { kind: "sync", addFinalizer: true }
 */
export function finalizerStep(
  parent: KubeObject,
  finalizer: string,
  needed: boolean,
): FinalizerStep {
  const present = (parent.metadata.finalizers ?? []).includes(finalizer);
  if (parent.metadata.deletionTimestamp)
    return present ? { kind: "cleanup" } : { kind: "released" };
  return { kind: "sync", addFinalizer: needed && !present };
}

/** Adds (`present: true`) or removes Operon's finalizer with a JSON patch guarded by the resourceVersion. */
export async function setFinalizer(
  client: KubeClient,
  type: ResourceType,
  parent: KubeObject,
  finalizer: string,
  present: boolean,
  signal?: AbortSignal,
): Promise<void> {
  const finalizers = parent.metadata.finalizers ?? [];
  if (finalizers.includes(finalizer) === present) return;
  const next = present ? [...finalizers, finalizer] : finalizers.filter((f) => f !== finalizer);
  await client.patch(
    type,
    parent.metadata.name!,
    [
      { op: "test", path: "/metadata/resourceVersion", value: parent.metadata.resourceVersion },
      {
        op: parent.metadata.finalizers ? "replace" : "add",
        path: "/metadata/finalizers",
        value: next,
      },
    ],
    {
      ...(parent.metadata.namespace ? { namespace: parent.metadata.namespace } : {}),
      ...(signal ? { signal } : {}),
    },
  );
}

/**
 * Where the cleanup of one parent stands. `finalize` is not called again once it reported
 * `finalized` (only the finalizer's removal is retried), so the memory is per parent UID.
 */
export class CleanupProgress {
  readonly #finalized = new Set<string>();

  /** True when the user's `finalize` already reported `finalized` for this parent. */
  finalized(uid: string): boolean {
    return this.#finalized.has(uid);
  }

  markFinalized(uid: string): void {
    this.#finalized.add(uid);
  }

  /** The parent is gone or released: forget it. */
  done(uid: string): void {
    this.#finalized.delete(uid);
  }
}
