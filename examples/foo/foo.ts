/**
 * Foo, from the Kubebuilder tutorial: `status.happy` is true exactly when a Pod named
 * `spec.name` exists in the Foo's namespace. Foo owns nothing; it watches Pods as related
 * objects, so creating, deleting or renaming Pods (and changing `spec.name`) is followed at once.
 */
import { defineOperator, defineResource, K8s, Pod, Type } from "kube-operon";

export const Foo = defineResource({
  group: "tutorial.my.domain",
  version: "v1",
  kind: "Foo",
  plural: "foos",
  scope: "Namespaced",
  description: "Foo is happy when a Pod with the name it names exists in its namespace.",
  spec: Type.Object({
    name: Type.String({ minLength: 1, description: "The name of the Pod this Foo looks for." }),
  }),
  status: K8s.Status({
    happy: Type.Optional(Type.Boolean({ description: "True when a Pod named spec.name exists." })),
  }),
  printerColumns: [
    { name: "Pod", type: "string", jsonPath: ".spec.name" },
    { name: "Happy", type: "boolean", jsonPath: ".status.happy" },
  ],
});

export default defineOperator({
  name: "foo",
  parent: Foo,
  related: {
    // Each Pod reaches the Foos of its namespace that name it.
    pods: { type: Pod, select: (foo, pod) => pod.metadata.name === foo.spec.name },
  },
  sync({ related }) {
    const happy = related.pods.some((pod) => !pod.metadata.deletionTimestamp);
    return { status: { happy } };
  },
});
