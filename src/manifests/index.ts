/**
 * Manifests generated from code: CustomResourceDefinitions from declared kinds, and their YAML.
 *
 * @example
 * import { customResourceDefinition, toYaml } from "operon";
 * process.stdout.write(toYaml(customResourceDefinition(Widget)));
 *
 * @packageDocumentation
 */
export { CrdGenerationError, type CrdOptions, customResourceDefinition } from "./crd.ts";
export {
  SchemaConversionError,
  type StructuralOptions,
  supportedFormats,
  toStructuralSchema,
} from "./structural.ts";
export { toYaml } from "./yaml.ts";
