/**
 * The control-plane versions the testkit runs, pinned in this one place.
 *
 * etcd follows the pairing envtest uses for this Kubernetes minor; kwok simulates nodes and pods.
 */
export const controlPlaneVersions = {
  kubernetes: "1.36.3",
  etcd: "3.6.8",
  kwok: "0.8.0",
} as const;

/** A directory name that changes whenever any pinned version changes. */
export function versionsTag(): string {
  const v = controlPlaneVersions;
  return `k8s-v${v.kubernetes}_etcd-v${v.etcd}_kwok-v${v.kwok}`;
}
