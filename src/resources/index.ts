/**
 * Object shapes, built-in kinds and custom kind declarations. Types and pure functions only: no I/O.
 *
 * @example
 * import { Type } from "@sinclair/typebox";
 * import { defineResource, Deployment, K8s, type ObjectOf } from "kube-operon";
 *
 * const Widget = defineResource({
 *   group: "example.com",
 *   version: "v1",
 *   kind: "Widget",
 *   plural: "widgets",
 *   scope: "Namespaced",
 *   spec: Type.Object({ replicas: Type.Integer({ minimum: 0, default: 1 }) }),
 *   status: K8s.Status(),
 * });
 * type Widget = ObjectOf<typeof Widget>;
 *
 * @packageDocumentation
 */

export { type Static, type TSchema, Type } from "@sinclair/typebox";
export * from "./admissionregistration.ts";
export * from "./apiextensions.ts";
export * from "./apps.ts";
export * from "./batch.ts";
export * from "./conditions.ts";
export * from "./coordination.ts";
export * from "./core.ts";
export * from "./define.ts";
export * from "./events.ts";
export * from "./meta.ts";
export * from "./networking.ts";
export * from "./object.ts";
export * from "./policy.ts";
export * from "./rbac.ts";
export * from "./schema.ts";
