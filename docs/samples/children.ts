import { child, Deployment, defineOperator, Pod, Secret, Service } from "kube-operon";
import { Greeting } from "./greeting.ts";

export default defineOperator({
  name: "children-demo",
  parent: Greeting,
  children: {
    deployments: Deployment, // strategy "apply": server-side apply in place
    services: Service,
    pods: child(Pod, { strategy: "recreate" }), // deleted and created again when it must change
    secrets: child(Secret, { strategy: "onDelete" }), // created once, never updated
  },
  sync({ parent, children }) {
    const name = parent.metadata.name!;
    // Children are read from the cache: no API calls in sync.
    const ready = children.deployments.get(name)?.status?.readyReplicas ?? 0;
    return {
      status: { message: `${ready} ready` },
      children: [
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: `${name}-credentials` },
          stringData: { password: "generated-once" },
        },
      ],
      requeueAfterMs: ready === 0 ? 10_000 : undefined,
    };
  },
});
