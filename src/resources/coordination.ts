/**
 * `coordination.k8s.io/v1` Lease, the lock behind leader election.
 */
import type { MicroTime } from "./meta.ts";
import { type ObjectMeta, resourceType } from "./object.ts";

/** The desired state of a Lease. */
export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: MicroTime;
  renewTime?: MicroTime;
  leaseTransitions?: number;
  strategy?: string;
  preferredHolder?: string;
}

/**
 * A Lease (`coordination.k8s.io/v1/Lease`).
 *
 * @example
 * const lease: Lease = {
 *   apiVersion: "coordination.k8s.io/v1",
 *   kind: "Lease",
 *   metadata: { name: "my-operator", namespace: "operators" },
 *   spec: { holderIdentity: "pod-a", leaseDurationSeconds: 15 },
 * };
 */
export type Lease = {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: ObjectMeta;
  spec?: LeaseSpec;
};
/** The `Lease` kind: `coordination.k8s.io/v1`, `leases`, namespaced. */
export const Lease = resourceType<Lease>("coordination.k8s.io/v1", "Lease", "leases", true);
