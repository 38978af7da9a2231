import { Deployment, defineOperator, findCondition } from "kube-operon";
import { Greeting } from "./greeting.ts";

export default defineOperator({
  name: "status-demo",
  parent: Greeting,
  children: { deployments: Deployment },
  sync({ parent, children, now }) {
    const deployment = children.deployments.get(parent.metadata.name!);
    const ready = (deployment?.status?.readyReplicas ?? 0) > 0;
    // findCondition reads any kind's conditions (a Deployment's have optional fields).
    const progressing = findCondition(deployment?.status?.conditions, "Progressing");
    return {
      status: {
        message: ready ? "serving" : "starting",
        // Your own conditions; Operon adds `Synced` and `observedGeneration`, and keeps
        // lastTransitionTime unchanged while a condition's status does not change.
        conditions: [
          {
            type: "Ready",
            status: ready ? "True" : "False",
            reason: ready ? "DeploymentReady" : "DeploymentNotReady",
            message: ready ? "" : (progressing?.message ?? "waiting for a ready replica"),
            lastTransitionTime: now.toISOString(),
          },
        ],
      },
      events: ready ? [] : [{ type: "Normal", reason: "Waiting", message: "no ready replica yet" }],
    };
  },
});
