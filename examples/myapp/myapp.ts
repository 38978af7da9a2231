/**
 * MyApp: a Deployment and a Service from three fields. The status reports the Deployment's ready
 * replicas and a `Ready` condition that is true once all replicas are ready.
 */
import { Deployment, defineOperator, defineResource, K8s, Service, Type } from "kube-operon";

export const MyApp = defineResource({
  group: "apps.example.com",
  version: "v1",
  kind: "MyApp",
  plural: "myapps",
  shortNames: ["app"],
  scope: "Namespaced",
  description:
    "A web application: a Deployment of `image` with `replicas` Pods behind a Service on `port`.",
  spec: Type.Object({
    replicas: Type.Integer({
      minimum: 0,
      maximum: 100,
      default: 1,
      description: "How many Pods run the application.",
    }),
    image: Type.String({ minLength: 1, description: "The container image, e.g. nginx:1.27." }),
    port: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 8080,
      description: "The port the application listens on and the Service exposes.",
    }),
  }),
  status: K8s.Status({
    readyReplicas: Type.Optional(Type.Integer({ description: "Pods ready to serve." })),
  }),
  printerColumns: [
    { name: "Image", type: "string", jsonPath: ".spec.image" },
    { name: "Desired", type: "integer", jsonPath: ".spec.replicas" },
    { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" },
  ],
  scale: { specReplicasPath: ".spec.replicas", statusReplicasPath: ".status.readyReplicas" },
});

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
                  { name: "app", image, ports: [{ name: "http", containerPort: port }] },
                ],
              },
            },
          },
        },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name, labels },
          spec: { selector: labels, ports: [{ name: "http", port, targetPort: "http" }] },
        },
      ],
    };
  },
});
