/**
 * The standard status condition (`metav1.Condition`) and pure helpers to read and update a list of
 * them the way Kubernetes controllers do.
 */
import type { Time } from "./meta.ts";

/** The status of a condition. */
export type ConditionStatus = "True" | "False" | "Unknown";

/**
 * One aspect of an object's current state (`metav1.Condition`), kept in `status.conditions` with
 * one entry per `type`.
 *
 * @example
 * const ready: Condition = {
 *   type: "Ready",
 *   status: "True",
 *   observedGeneration: 3,
 *   lastTransitionTime: "2024-05-01T12:00:00Z",
 *   reason: "AllReplicasReady",
 *   message: "3 of 3 replicas are ready",
 * };
 */
export interface Condition {
  /** The condition's type in CamelCase, e.g. `Ready`, `Available`, `Degraded`. */
  type: string;
  status: ConditionStatus;
  /** The `metadata.generation` the condition was computed from. */
  observedGeneration?: number;
  /** When `status` last changed. */
  lastTransitionTime: Time;
  /** A CamelCase, machine-readable reason for the last transition. */
  reason: string;
  /** A human-readable message; may be empty. */
  message: string;
}

/** Input of {@link setCondition}: a condition whose `lastTransitionTime` and `message` may be left out. */
export type ConditionUpdate = Omit<Condition, "lastTransitionTime" | "message"> & {
  lastTransitionTime?: Time;
  message?: string;
};

/**
 * The condition of the given type, if present. Works on any list of conditions: `metav1.Condition`
 * and the built-in kinds' own shapes (a Deployment's, whose `lastTransitionTime` is optional,
 * a Pod's, a Job's), and returns the list's element type.
 *
 * @example
 * const ready = findCondition(widget.status?.conditions, "Ready");
 * const available = findCondition(deployment.status?.conditions, "Available")?.status === "True";
 */
export function findCondition<C extends { type: string }>(
  conditions: readonly C[] | undefined,
  type: string,
): C | undefined {
  return conditions?.find((condition) => condition.type === type);
}

/**
 * Whether the condition of the given type is present with status `True`.
 *
 * @example
 * if (isConditionTrue(deployment.status?.conditions, "Available")) { ... }
 */
export function isConditionTrue(
  conditions: readonly { type: string; status: string }[] | undefined,
  type: string,
): boolean {
  return (
    conditions?.some((condition) => condition.type === type && condition.status === "True") ?? false
  );
}

/**
 * Returns a copy of `conditions` with `update` set, the way `meta.SetStatusCondition` does:
 * `lastTransitionTime` changes only when the status changes (to `update.lastTransitionTime`, else
 * `now`); reason, message and observedGeneration are always taken from `update`. Order is kept and a
 * new type is appended. The input array is not modified.
 *
 * @example
 * status.conditions = setCondition(status.conditions, {
 *   type: "Ready",
 *   status: "False",
 *   reason: "Scaling",
 *   message: "1 of 3 replicas are ready",
 *   observedGeneration: object.metadata.generation,
 * });
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === update.type);
  const existing = index < 0 ? undefined : list[index];
  const transitioned = existing === undefined || existing.status !== update.status;
  const next: Condition = {
    type: update.type,
    status: update.status,
    ...(update.observedGeneration === undefined
      ? {}
      : { observedGeneration: update.observedGeneration }),
    lastTransitionTime: transitioned
      ? (update.lastTransitionTime ?? formatTime(now))
      : (existing?.lastTransitionTime ?? formatTime(now)),
    reason: update.reason,
    message: update.message ?? "",
  };
  if (index < 0) list.push(next);
  else list[index] = next;
  return list;
}

/**
 * Returns a copy of `conditions` without the condition of the given type.
 *
 * @example
 * status.conditions = removeCondition(status.conditions, "Progressing");
 */
export function removeCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}

/** Formats a date as Kubernetes does for `metav1.Time`: RFC 3339, UTC, whole seconds. */
export function formatTime(date: Date): Time {
  return `${date.toISOString().slice(0, 19)}Z`;
}
