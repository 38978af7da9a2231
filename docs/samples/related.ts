import { defineOperator, defineResource, K8s, Node, Pod, Type } from "kube-operon";

export const Team = defineResource({
  group: "example.com",
  version: "v1",
  kind: "Team",
  plural: "teams",
  scope: "Namespaced",
  spec: Type.Object({ selector: K8s.Map(Type.String()) }),
  status: K8s.Status({ pods: Type.Optional(Type.Integer()), nodes: Type.Optional(Type.Integer()) }),
});

export default defineOperator({
  name: "team",
  parent: Team,
  related: {
    // Pods whose labels match the Team's selector, in the Team's namespace.
    pods: { type: Pod, selectorFrom: (team) => team.spec.selector },
    // Every Node: a change to any Node reaches every Team.
    nodes: { type: Node },
  },
  sync({ related }) {
    return { status: { pods: related.pods.length, nodes: related.nodes.length } };
  },
});
