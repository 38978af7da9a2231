/** A parent type for the operator layer's tests: `spec.data` becomes a ConfigMap's data. */
import { defineResource, K8s, Type } from "../../resources/index.ts";

export const Bundle = defineResource({
  group: "test.operon.dev",
  version: "v1",
  kind: "Bundle",
  plural: "bundles",
  scope: "Namespaced",
  spec: Type.Object({
    data: Type.Optional(K8s.Map(Type.String())),
    mode: Type.Optional(Type.String()),
  }),
  status: K8s.Status({ keys: Type.Optional(Type.Integer()), note: Type.Optional(Type.String()) }),
});
