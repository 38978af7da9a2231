/**
 * The benchmark's parent kind and the state every contender derives from it. Operon's operator,
 * the harness's convergence check and (in Go, by the same rules) the controller-runtime peer and
 * the write floor all produce exactly these children and this status.
 *
 * A BenchParent owns two children that no other controller acts on:
 * - ConfigMap `<name>-config`, data `{ value, tier }`;
 * - Secret `<name>-secret`, data `{ value }` (base64 of `spec.value`);
 * and reports `status: { observedGeneration, children: 2, configMap, secret, conditions: [Synced] }`.
 */
import { defineResource, K8s, type ObjectOf, Type } from "kube-operon";

export const benchGroup = "bench.operon.dev";

export const BenchParent = defineResource({
  group: benchGroup,
  version: "v1",
  kind: "BenchParent",
  plural: "benchparents",
  scope: "Namespaced",
  description: "A parent for the benchmarks: one ConfigMap and one Secret derived from its spec.",
  spec: Type.Object({
    value: Type.String(),
    tier: Type.Optional(Type.String()),
  }),
  status: K8s.Status({
    children: Type.Optional(Type.Integer()),
    configMap: Type.Optional(Type.String()),
    secret: Type.Optional(Type.String()),
  }),
});
export type BenchParent = ObjectOf<typeof BenchParent>;

/** Label on every child, naming its parent. */
export const parentLabel = "bench.operon.dev/parent";

/** The condition every contender maintains on the parent (Operon's own `Synced`). */
export const syncedType = "Synced";
export const syncedReason = "Synced";
export const syncedMessage = "children and status are up to date";

export function configMapName(parent: string): string {
  return `${parent}-config`;
}

export function secretName(parent: string): string {
  return `${parent}-secret`;
}

export interface ParentSpec {
  value: string;
  tier?: string | undefined;
}

/** The ConfigMap's data for a spec. */
export function configMapData(spec: ParentSpec): Record<string, string> {
  return { value: spec.value, tier: spec.tier ?? "standard" };
}

/** The Secret's data (base64) for a spec. */
export function secretData(spec: ParentSpec): Record<string, string> {
  return { value: Buffer.from(spec.value).toString("base64") };
}

/** The status fields besides `observedGeneration` and conditions. */
export function statusSummary(parent: string): {
  children: number;
  configMap: string;
  secret: string;
} {
  return { children: 2, configMap: configMapName(parent), secret: secretName(parent) };
}

/** The spec the harness gives parent `index` at `round` (round 0 on creation, then churn rounds). */
export function specFor(index: number, round: number): ParentSpec {
  return { value: `value-${index}-r${round}`, tier: index % 2 === 0 ? "standard" : "premium" };
}

/** The name of parent `index`. */
export function parentName(index: number): string {
  return `p-${String(index).padStart(5, "0")}`;
}
