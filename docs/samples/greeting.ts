import { ConfigMap, defineOperator, defineResource, K8s, Type } from "kube-operon";

// The parent: a custom resource declared once. Its TypeScript type and its CRD both come from here.
export const Greeting = defineResource({
  group: "example.com",
  version: "v1",
  kind: "Greeting",
  plural: "greetings",
  scope: "Namespaced",
  description: "A greeting Operon keeps in a ConfigMap.",
  spec: Type.Object({
    name: Type.String({ minLength: 1, description: "Who to greet." }),
    excited: Type.Boolean({ default: false }),
  }),
  status: K8s.Status({ message: Type.Optional(Type.String()) }),
  printerColumns: [{ name: "Message", type: "string", jsonPath: ".status.message" }],
});

// The operator: one function from the parent (and what it owns) to the desired state.
export default defineOperator({
  name: "greeter",
  parent: Greeting,
  children: { configMaps: ConfigMap },
  sync({ parent }) {
    const message = `Hello, ${parent.spec.name}${parent.spec.excited ? "!" : "."}`;
    return {
      status: { message },
      children: [
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `${parent.metadata.name}-greeting` },
          data: { message },
        },
      ],
    };
  },
});
