import { Deployment, defineOperator } from "kube-operon";
import { Greeting } from "./greeting.ts";

export default defineOperator({
  name: "status-demo",
  parent: Greeting,
  children: { deployments: Deployment },
  sync({ parent, children }) {
    const deployment = children.deployments.get(parent.metadata.name!);
    const ready = (deployment?.status?.readyReplicas ?? 0) > 0;
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
            message: ready ? "" : "waiting for a ready replica",
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
      events: ready ? [] : [{ type: "Normal", reason: "Waiting", message: "no ready replica yet" }],
    };
  },
});
