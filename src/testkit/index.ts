/**
 * `operon/testkit`: a real local Kubernetes control plane for tests, examples and benchmarks.
 *
 * @example
 * import { startControlPlane } from "operon/testkit";
 *
 * const plane = await startControlPlane();
 * // kubectl --kubeconfig <plane.kubeconfigPath> get nodes
 * await plane.stop();
 *
 * @packageDocumentation
 */
export {
  type AssetPaths,
  type BinaryName,
  binaryNames,
  type EnsureAssetsOptions,
  ensureAssets,
  type ProgressReporter,
} from "./assets.ts";
export {
  attachControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
  type Identity,
  type IdentityKubeconfig,
  startControlPlane,
} from "./control-plane.ts";
export { testControlPlane } from "./shared.ts";
export { controlPlaneVersions } from "./versions.ts";
