/**
 * A changed version of examples/myapp for the test of `operon plan` (src/cli/plan.integration.test.ts): the same operator and parent,
 * with a new image tag, a memory limit, an annotated Service, and one more Service per app.
 */
import { Deployment, defineOperator, Service } from "kube-operon";
import { MyApp } from "../myapp.ts";

export default defineOperator({
  name: "myapp",
  parent: MyApp,
  children: { deployments: Deployment, services: Service },
  sync({ parent, children }) {
    const name = parent.metadata.name!;
    const { replicas, image, port } = parent.spec;
    const labels = { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "myapp" };
    const readyReplicas = children.deployments.get(name)?.status?.readyReplicas ?? 0;
    const ready = readyReplicas >= replicas;
    return {
      status: {
        readyReplicas,
        conditions: [
          {
            type: "Ready",
            status: ready ? "True" : "False",
            reason: ready ? "AllReplicasReady" : "ReplicasNotReady",
            message: `${readyReplicas}/${replicas} replicas ready`,
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
      children: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name, labels },
          spec: {
            replicas,
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                containers: [
                  {
                    name: "app",
                    image: image.replace(/:[^:/]*$/, ":next"),
                    ports: [{ name: "http", containerPort: port }],
                    resources: { limits: { memory: "256Mi" } },
                  },
                ],
              },
            },
          },
        },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name, labels, annotations: { "example.com/exposed": "true" } },
          spec: { selector: labels, ports: [{ name: "http", port, targetPort: "http" }] },
        },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: `${name}-metrics`, labels },
          spec: { selector: labels, ports: [{ name: "metrics", port: 9090, targetPort: 9090 }] },
        },
      ],
    };
  },
});
