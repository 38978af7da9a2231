/**
 * Manifests generated from code: CustomResourceDefinitions from declared kinds, RBAC from
 * operator declarations, and the Deployment, Dockerfile and kustomization that run operators in a
 * cluster.
 *
 * @example
 * import { customResourceDefinition, toYaml } from "kube-operon";
 * process.stdout.write(toYaml(customResourceDefinition(Widget)));
 *
 * @packageDocumentation
 */
export { CrdGenerationError, type CrdOptions, customResourceDefinition } from "./crd.ts";
export {
  type DeploymentOptions,
  defaultHealthProbePort,
  defaultMetricsPort,
  deploymentFiles,
  deploymentManifests,
  dockerfile,
  dockerignore,
  type GeneratedFile,
  type OperatorDeployment,
  operatorNodeFlags,
  writeGeneratedFiles,
} from "./deployment.ts";
export {
  type OperatorRbac,
  RbacGenerationError,
  type RbacOptions,
  type RbacRules,
  rbacManifests,
  rbacRules,
} from "./rbac.ts";
export {
  SchemaConversionError,
  type StructuralOptions,
  supportedFormats,
  toStructuralSchema,
} from "./structural.ts";
export { toYaml } from "./yaml.ts";
