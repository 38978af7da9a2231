/**
 * Kinds of the `policy/v1` group: PodDisruptionBudget.
 */
import type { Condition } from "./conditions.ts";
import type { IntOrString, LabelSelector } from "./meta.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/** The desired state of a PodDisruptionBudget: give one of `minAvailable` and `maxUnavailable`. */
export interface PodDisruptionBudgetSpec {
  /** The pods it protects. */
  selector?: LabelSelector;
  /** Pods that must stay available through voluntary disruptions (drains): a number or a percentage. */
  minAvailable?: IntOrString;
  /** Pods that may be unavailable at once: a number or a percentage. */
  maxUnavailable?: IntOrString;
  /** Whether unhealthy pods may be evicted: `IfHealthyBudget` (default) or `AlwaysAllow`. */
  unhealthyPodEvictionPolicy?: "IfHealthyBudget" | "AlwaysAllow";
}

/**
 * A PodDisruptionBudget (`policy/v1/PodDisruptionBudget`).
 *
 * @example
 * const budget: PodDisruptionBudget = {
 *   apiVersion: "policy/v1",
 *   kind: "PodDisruptionBudget",
 *   metadata: { name: "web", namespace: "shop" },
 *   spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } },
 * };
 */
export type PodDisruptionBudget = {
  apiVersion: "policy/v1";
  kind: "PodDisruptionBudget";
  metadata: ObjectMeta;
  spec?: PodDisruptionBudgetSpec;
  status?: {
    observedGeneration?: number;
    disruptionsAllowed?: number;
    currentHealthy?: number;
    desiredHealthy?: number;
    expectedPods?: number;
    conditions?: Condition[];
  };
};
/** The `PodDisruptionBudget` kind: `policy/v1`, `poddisruptionbudgets`, namespaced. */
export const PodDisruptionBudget = resourceType<PodDisruptionBudget>(
  "policy/v1",
  "PodDisruptionBudget",
  "poddisruptionbudgets",
  true,
);
