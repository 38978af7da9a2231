/** Metacontroller mode: Metacontroller's controllers and hooks, run on Operon's runtime. */
export { metacontrollerCrds } from "./crds.ts";
export type { ServiceAccess } from "./hook.ts";
export { installMetacontrollerCrds } from "./install.ts";
export {
  type MetacontrollerManifestOptions,
  metacontrollerManifests,
  metacontrollerRbacRules,
} from "./manifests.ts";
export { Metacontroller, type MetacontrollerOptions } from "./supervisor.ts";
export * from "./types.ts";
