/**
 * ClusterHealth: a cluster-scoped parent that selects Nodes by label and keeps a count of the
 * healthy (Ready) and total Nodes in its status. Nodes are related objects: every change of a
 * Node's health reaches the ClusterHealth objects that select it.
 */
import { defineOperator, defineResource, isConditionTrue, K8s, Node, Type } from "kube-operon";

export const ClusterHealth = defineResource({
  group: "examples.operon.dev",
  version: "v1",
  kind: "ClusterHealth",
  plural: "clusterhealths",
  scope: "Cluster",
  description: "Counts the healthy Nodes among those a label selector picks.",
  spec: Type.Object({
    nodeSelector: Type.Optional(
      K8s.Map(Type.String(), {
        description: "Labels a Node must have to count; empty selects every Node.",
      }),
    ),
  }),
  status: K8s.Status({
    healthy: Type.Optional(
      Type.Integer({ description: "Selected Nodes whose Ready condition is True." }),
    ),
    total: Type.Optional(Type.Integer({ description: "Selected Nodes." })),
  }),
  printerColumns: [
    { name: "Healthy", type: "integer", jsonPath: ".status.healthy" },
    { name: "Total", type: "integer", jsonPath: ".status.total" },
  ],
});

export default defineOperator({
  name: "cluster-health",
  parent: ClusterHealth,
  related: {
    nodes: {
      type: Node,
      select: (parent, node) =>
        Object.entries(parent.spec.nodeSelector ?? {}).every(
          ([key, value]) => node.metadata.labels?.[key] === value,
        ),
    },
  },
  sync({ related }) {
    const healthy = related.nodes.filter((node) =>
      isConditionTrue(node.status?.conditions, "Ready"),
    ).length;
    return { status: { healthy, total: related.nodes.length } };
  },
});
