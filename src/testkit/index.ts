/**
 * `operon/testkit`: a real local Kubernetes control plane for tests, examples and benchmarks.
 *
 * @example
 * import { startControlPlane } from "kube-operon/testkit";
 *
 * const plane = await startControlPlane();
 * // kubectl --kubeconfig <plane.kubeconfigPath> get nodes
 * await plane.stop();
 *
 * @packageDocumentation
 */

export { customTypesOf, type InstallOptions, installCustomResources } from "../manager/install.ts";
export type { TraceOptions } from "../manager/manager.ts";
export { callWebhook, type WebhookInput, type WebhookOutcome } from "./admission.ts";
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
export {
  type PodSimulation,
  simulateAfterAnnotation,
  simulateAnnotation,
  simulatePod,
} from "./kwok-stages.ts";
export {
  eventually,
  getOrUndefined,
  type OperatorHarness,
  type RecordedWrite,
  type RunOperatorOptions,
  runOperator,
} from "./operator-harness.ts";
export {
  sharedControlPlaneEnv,
  type TestControlPlaneSetup,
  testControlPlane,
  testControlPlaneSetup,
} from "./shared.ts";
export { callFinalize, callSync, type FinalizeInput, type SyncInput } from "./sync-request.ts";
export { controlPlaneVersions } from "./versions.ts";
