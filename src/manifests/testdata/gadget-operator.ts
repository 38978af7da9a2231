/**
 * An operator module for the deployment tests, run by `operon run` in a child process: each
 * Gadget gets a ConfigMap, and a finalizer while it exists. The API group and the operator's
 * name come from the environment, so concurrent tests do not meet.
 */
import { defineOperator } from "../../operator/declaration.ts";
import { ConfigMap, defineResource, K8s, Type } from "../../resources/index.ts";

export const Gadget = defineResource({
  group: process.env.GADGET_GROUP ?? "gadgets.operon.dev",
  version: "v1",
  kind: "Gadget",
  plural: "gadgets",
  scope: "Namespaced",
  description: "A Gadget keeps its color in a ConfigMap.",
  spec: Type.Object({ color: Type.String({ minLength: 1, description: "The color." }) }),
  status: K8s.Status({
    configMap: Type.Optional(Type.String({ description: "The ConfigMap holding the color." })),
  }),
  printerColumns: [{ name: "Color", type: "string", jsonPath: ".spec.color" }],
});

export default defineOperator({
  name: process.env.GADGET_OPERATOR ?? "gadget",
  parent: Gadget,
  children: { configMaps: ConfigMap },
  sync({ parent }) {
    const name = parent.metadata.name!;
    return {
      status: { configMap: name },
      children: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name },
          data: { color: parent.spec.color },
        },
      ],
    };
  },
  finalize: () => ({ finalized: true }),
});
