/**
 * EchoServer: one Pod that answers HTTP requests with a message, and a Service in front of it.
 * The Pod is recreated when its spec changes (a Pod's containers cannot be edited in place);
 * the Service is updated in place. The status reports the Pod's phase.
 */
import { child, defineOperator, defineResource, K8s, Pod, Service, Type } from "kube-operon";

export const EchoServer = defineResource({
  group: "examples.operon.dev",
  version: "v1",
  kind: "EchoServer",
  plural: "echoservers",
  shortNames: ["echo"],
  scope: "Namespaced",
  description: "An HTTP server that answers every request with a fixed message.",
  spec: Type.Object({
    message: Type.String({ minLength: 1, description: "What the server answers." }),
    port: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 8080,
      description: "The port the Service exposes.",
    }),
  }),
  status: K8s.Status({
    podPhase: Type.Optional(Type.String({ description: "The phase of the server's Pod." })),
  }),
  printerColumns: [
    { name: "Message", type: "string", jsonPath: ".spec.message" },
    { name: "Pod", type: "string", jsonPath: ".status.podPhase" },
  ],
});

export default defineOperator({
  name: "echo-server",
  parent: EchoServer,
  children: {
    pods: child(Pod, { strategy: "recreate" }),
    services: Service,
  },
  sync({ parent, children }) {
    const name = parent.metadata.name!;
    const labels = { "app.kubernetes.io/name": "echo-server", "app.kubernetes.io/instance": name };
    return {
      status: { podPhase: children.pods.get(name)?.status?.phase ?? "Pending" },
      children: [
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name, labels },
          spec: {
            containers: [
              {
                name: "echo",
                image: "hashicorp/http-echo:1.0",
                args: [`-text=${parent.spec.message}`, "-listen=:5678"],
                ports: [{ name: "http", containerPort: 5678 }],
              },
            ],
          },
        },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name, labels },
          spec: {
            selector: labels,
            ports: [{ name: "http", port: parent.spec.port, targetPort: "http" }],
          },
        },
      ],
    };
  },
});
